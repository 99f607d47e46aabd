"""Services: the functions that change Quorum's state. Views, the API, tasks and
management commands all call these; none of them writes models directly."""
