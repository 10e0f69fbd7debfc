//! The fleet view's producer in the pipeline.

use super::{Pipeline, Settings, lock};

impl Pipeline {
    /// The configured logs, or in fleet mode the fleet alone: its counters replace the
    /// store's on each refresh, so local logs would be wiped every few seconds. Local probes
    /// run beside either (they are added by the caller).
    /// Returns the fleet's control, for the dashboard's instance filter.
    pub(super) fn add_watched(
        &mut self,
        settings: &Settings,
    ) -> Option<crate::sources::fleet::FleetControl> {
        match &settings.fleet {
            Some(fleet) => Some(self.add_fleet(fleet.clone())),
            None => {
                for spec in &settings.logs {
                    self.add_log(spec.clone(), &settings.format_opts);
                }
                None
            }
        }
    }

    /// Polls a Prometheus server for the fleet's figures.
    pub fn add_fleet(
        &mut self,
        settings: crate::sources::fleet::FleetSettings,
    ) -> crate::sources::fleet::FleetControl {
        let label = format!("prometheus {}", crate::model::redact::text(&settings.url));
        let (id, span, bucket) = {
            let mut s = lock(&self.store);
            let id = s.register_source(&label);
            s.set_source_state(id, "starting");
            (id, s.config().retention_ms, s.bucket_ms())
        };
        let control = crate::sources::fleet::FleetControl::default();
        let task = crate::sources::fleet::spawn(
            settings,
            id,
            span,
            bucket,
            control.clone(),
            self.sender(),
        );
        self.tasks.push(task);
        control
    }
}
