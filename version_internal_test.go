package tribus

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The version comes from the build, never from a constant that goes stale: the required
// module's version in a program that uses tribus, the stamped version of an installed
// binary, or the commit of a checkout.
func TestVersion_ComesFromTheBuild(t *testing.T) {
	vcs := []debug.BuildSetting{{Key: "vcs.revision", Value: "94f93a6aa1b2c3d4e5f6"}, {Key: "vcs.modified", Value: "true"}}
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{"no build info", nil, false, "devel"},
		{"a dependency", &debug.BuildInfo{Main: debug.Module{Path: "example.com/app"},
			Deps: []*debug.Module{{Path: modulePath, Version: "v0.3.0"}}}, true, "v0.3.0"},
		{"a dependency replaced by a directory", &debug.BuildInfo{Main: debug.Module{Path: "example.com/app"},
			Deps: []*debug.Module{{Path: modulePath, Version: "(devel)"}}}, true, "devel"},
		{"go install of a version", &debug.BuildInfo{Main: debug.Module{Path: modulePath, Version: "v0.3.0"}}, true, "v0.3.0"},
		{"a modified checkout", &debug.BuildInfo{Main: debug.Module{Path: modulePath, Version: "(devel)"}, Settings: vcs}, true, "devel (94f93a6aa1b2, modified)"},
		{"go run of a checkout", &debug.BuildInfo{Main: debug.Module{Path: modulePath, Version: "(devel)"}}, true, "devel"},
	} {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, buildVersion(tc.bi, tc.ok)) })
	}
}
