fn main() -> std::process::ExitCode {
    corstop::app::main()
}
