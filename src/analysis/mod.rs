pub mod alerts;
pub mod bursts;
pub mod evidence;
pub mod expiry;
pub mod followup;
pub mod triage;
