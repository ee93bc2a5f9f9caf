package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBrokenScriptStopsTheStart(t *testing.T) {
	dir := t.TempDir()
	bad := "id: x\nversion: 1\ntitle: X\nlang: en\nsteps:\n  - id: a\n    say: hi {{customer.password}}\n    next: a\n"
	if err := os.WriteFile(filepath.Join(dir, "x.yaml"), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	r := tamasEnv(t, context.Background(), t.TempDir(), "", []string{"TAMAS_CONSOLE_SCRIPTS_DIR=" + dir}, "serve")
	if r.code != 1 || !strings.Contains(r.stderr, "x.yaml:6:") || !strings.Contains(r.stderr, "customer.password") {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
}
