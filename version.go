package tribus

// Version is the version of this tribus module, reported by `tribus version`.
const Version = "0.1.0"
