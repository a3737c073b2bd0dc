package tribus

import "runtime/debug"

// modulePath is this module's import path.
const modulePath = "github.com/tribusmq/tribus"

// Version is the version of the tribus module in the running program, read from its build
// information: the module version a program that requires tribus was built with (v0.3.0,
// or a pseudo-version), the version `go install` stamped on a tribus binary, or, when tribus is
// built from a checkout, "devel" with the commit and whether the tree was modified, if the
// build recorded them (go build does; go run and go test do not). It is what `tribus version`
// prints and what the front doors report as the server's version.
var Version = buildVersion(debug.ReadBuildInfo())

// buildVersion is Version from a program's build information.
func buildVersion(bi *debug.BuildInfo, ok bool) string {
	if !ok {
		return "devel"
	}
	if bi.Main.Path != modulePath {
		for _, dep := range bi.Deps {
			if dep.Path == modulePath && dep.Version != "" && dep.Version != "(devel)" {
				return dep.Version
			}
		}
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if modified == "true" {
		return "devel (" + rev + ", modified)"
	}
	return "devel (" + rev + ")"
}
