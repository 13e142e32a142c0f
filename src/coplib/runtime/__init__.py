"""The runtime every use case runs on: the store, the plugins, the clock and ids, the unit of
work and its retry loop, the policy reactor, message composition and event subscribers."""
