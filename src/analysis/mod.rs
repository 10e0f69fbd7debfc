pub mod bursts;
