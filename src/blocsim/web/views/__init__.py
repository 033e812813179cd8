"""HTTP views of the dashboard: the JSON API (:mod:`.api`) and the HTML pages (:mod:`.pages`)."""
