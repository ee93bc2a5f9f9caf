package testkit

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
)

// PGServer is a PostgreSQL server of a test's own, so the test may stop
// and start it without disturbing anyone else's database.
type PGServer struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	as   []string // runuser prefix when running as root
}

// PrivatePostgres starts a fresh PostgreSQL server from the installed
// binaries on a free loopback port, and stops it when the test ends.
func PrivatePostgres(t testing.TB) *PGServer {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		Unavailable(t, "PostgreSQL server binaries are not installed (apt-get install postgresql)")
	}
	sort.Strings(bins)
	s := &PGServer{t: t, bin: filepath.Dir(bins[len(bins)-1])}
	dir, err := os.MkdirTemp("", "tamas-pg-")
	if err != nil {
		t.Fatal(err)
	}
	s.dir = dir
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			Unavailable(t, "running as root and there is no postgres user")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		s.as = []string{"runuser", "-u", "postgres", "--"}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s.run("initdb", "-D", s.data(), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
	s.Start()
	t.Cleanup(func() { s.stop(false) })
	return s
}

func (s *PGServer) data() string { return filepath.Join(s.dir, "data") }

func (s *PGServer) run(tool string, args ...string) {
	s.t.Helper()
	argv := append(append(append([]string{}, s.as...), filepath.Join(s.bin, tool)), args...)
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("%s: %v\n%s", tool, err, out)
	}
}

// URL is the server's connection URL.
func (s *PGServer) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
}

// Start starts the server and waits until it accepts connections.
func (s *PGServer) Start() {
	s.t.Helper()
	s.run("pg_ctl", "-D", s.data(), "-l", filepath.Join(s.dir, "log"), "-w", "-o",
		fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", s.port, s.dir), "start")
}

// Stop stops the server at once, as a crash or an operator would.
func (s *PGServer) Stop() { s.t.Helper(); s.stop(true) }

func (s *PGServer) stop(must bool) {
	argv := append(append(append([]string{}, s.as...), filepath.Join(s.bin, "pg_ctl")), "-D", s.data(), "-m", "fast", "-w", "stop")
	if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil && must {
		s.t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}
