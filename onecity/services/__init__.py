"""Government Online-Offline (一网通办): service items, applications, workflows, ratings."""
