// Package deploy_test checks the deployment files against the node they
// deploy: kubernetes/sidecar.yaml's config parses and runs, and its pod
// wires ports, probes, paths and memory as that config needs.
package deploy_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	as "github.com/aerospike/aerospike-client-go/v8"
	"gopkg.in/yaml.v3"

	"github.com/skiffdb/skiff/core/config"
	"github.com/skiffdb/skiff/internal/nodetest"
)

// The parts of Kubernetes objects the checks read.
type object struct {
	Kind     string                                    `yaml:"kind"`
	Data     map[string]string                         `yaml:"data"`
	Spec     struct{ Template struct{ Spec podSpec } } `yaml:"spec"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
}

type podSpec struct {
	TerminationGracePeriodSeconds int         `yaml:"terminationGracePeriodSeconds"`
	InitContainers                []container `yaml:"initContainers"`
	Containers                    []container `yaml:"containers"`
	Volumes                       []struct {
		Name      string `yaml:"name"`
		ConfigMap *struct {
			Name string `yaml:"name"`
		} `yaml:"configMap"`
		EmptyDir *struct {
			Medium    string `yaml:"medium"`
			SizeLimit string `yaml:"sizeLimit"`
		} `yaml:"emptyDir"`
	} `yaml:"volumes"`
}

type container struct {
	Name          string   `yaml:"name"`
	RestartPolicy string   `yaml:"restartPolicy"`
	Args          []string `yaml:"args"`
	Env           []struct{ Name, Value string }
	StartupProbe  *probe `yaml:"startupProbe"`
	Readiness     *probe `yaml:"readinessProbe"`
	Liveness      *probe `yaml:"livenessProbe"`
	Resources     struct {
		Limits map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext struct {
		ReadOnlyRootFilesystem bool `yaml:"readOnlyRootFilesystem"`
	} `yaml:"securityContext"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

type probe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port int    `yaml:"port"`
	} `yaml:"httpGet"`
}

// sidecar reads kubernetes/sidecar.yaml: its ConfigMap's skiffd.conf,
// parsed, and the Deployment's pod.
func sidecar(t *testing.T) (string, *config.Config, podSpec) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("kubernetes", "sidecar.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var conf string
	var pod *podSpec
	dec := yaml.NewDecoder(bytes.NewReader(src))
	for {
		var o object
		if err := dec.Decode(&o); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("sidecar.yaml: %v", err)
		}
		switch o.Kind {
		case "ConfigMap":
			conf = o.Data["skiffd.conf"]
		case "Deployment":
			pod = &o.Spec.Template.Spec
		}
	}
	if conf == "" || pod == nil {
		t.Fatal("sidecar.yaml: want a ConfigMap with skiffd.conf and a Deployment")
	}
	cfg, err := config.Parse("skiffd.conf", []byte(conf))
	if err != nil {
		t.Fatalf("the ConfigMap's skiffd.conf: %v", err)
	}
	return conf, cfg, *pod
}

// TestSidecarPod: the pod runs the node as a native sidecar with the
// ConfigMap's file, probes its admin port (which must listen beyond
// loopback for the kubelet), points the application at its service port,
// mounts every path the config writes (a memory volume large enough for
// each region file), and gives a clean stop more than the node's 30 s.
func TestSidecarPod(t *testing.T) {
	_, cfg, pod := sidecar(t)
	var node *container
	for i := range pod.InitContainers {
		if pod.InitContainers[i].Name == "skiff" {
			node = &pod.InitContainers[i]
		}
	}
	if node == nil || node.RestartPolicy != "Always" {
		t.Fatal("want the node as an init container with restartPolicy Always (a native sidecar)")
	}
	mounts := map[string]string{} // mount path -> volume
	for _, m := range node.VolumeMounts {
		mounts[m.MountPath] = m.Name
	}
	volumeOf := func(path string) string {
		for dir := path; dir != "/" && dir != "."; dir = filepath.Dir(dir) {
			if v, ok := mounts[dir]; ok {
				return v
			}
		}
		return ""
	}
	if len(node.Args) != 2 || node.Args[0] != "--config" || volumeOf(node.Args[1]) != "skiff-config" {
		t.Errorf("args %q: want --config and a file of the ConfigMap's volume", node.Args)
	}

	admin := cfg.Network.Admin
	if a, err := netip.ParseAddr(admin.Address); admin.Port == 0 || err != nil || a.IsLoopback() {
		t.Errorf("admin %s:%d: the kubelet's probes need it on the pod's address", admin.Address, admin.Port)
	}
	for name, p := range map[string]*probe{"startup": node.StartupProbe, "readiness": node.Readiness, "liveness": node.Liveness} {
		want := "/readyz"
		if name == "liveness" {
			want = "/healthz"
		}
		if p == nil || p.HTTPGet.Port != admin.Port || p.HTTPGet.Path != want {
			t.Errorf("%s probe %+v: want GET %s on port %d", name, p, want, admin.Port)
		}
	}
	env := map[string]string{}
	for _, c := range pod.Containers {
		for _, e := range c.Env {
			env[e.Name] = e.Value
		}
	}
	if env["AEROSPIKE_HOST"] != cfg.Network.Service.Address || env["AEROSPIKE_PORT"] != fmt.Sprint(cfg.Network.Service.Port) {
		t.Errorf("the application connects to %s:%s, the node listens on %s:%d", env["AEROSPIKE_HOST"], env["AEROSPIKE_PORT"],
			cfg.Network.Service.Address, cfg.Network.Service.Port)
	}
	if pod.TerminationGracePeriodSeconds <= 30 {
		t.Errorf("terminationGracePeriodSeconds %d: the node gives its backends 30 s to close", pod.TerminationGracePeriodSeconds)
	}

	writable := map[string]string{"work-directory": cfg.Service.WorkDirectory, "mod-udf user-path": cfg.UDF.UserPath}
	if node.SecurityContext.ReadOnlyRootFilesystem {
		writable["the plugins' sockets"] = "/tmp/x"
	}
	var regionBytes int64
	for _, ns := range cfg.Namespaces {
		if ns.Storage.RegionFile != "" {
			writable["region-file of "+ns.Name] = ns.Storage.RegionFile
			regionBytes += ns.Storage.DataSize * 6 / 5
		}
	}
	for what, path := range writable {
		if volumeOf(path) == "" {
			t.Errorf("%s %s is on no volume of the node's container", what, path)
		}
	}
	for _, ns := range cfg.Namespaces {
		if f := ns.Storage.RegionFile; f != "" {
			for _, v := range pod.Volumes {
				if v.Name != volumeOf(f) {
					continue
				}
				if v.EmptyDir == nil || v.EmptyDir.Medium != "Memory" || quantity(t, v.EmptyDir.SizeLimit) < regionBytes {
					t.Errorf("volume %s of region files: want an emptyDir of medium Memory with room for %d bytes", v.Name, regionBytes)
				}
			}
		}
	}
	if limit := quantity(t, node.Resources.Limits["memory"]); limit < regionBytes {
		t.Errorf("memory limit %s below the region files' %d bytes", node.Resources.Limits["memory"], regionBytes)
	}
}

// quantity reads a Kubernetes quantity with a binary suffix (Mi, Gi).
func quantity(t *testing.T, q string) int64 {
	t.Helper()
	for suffix, unit := range map[string]int64{"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30} {
		if n, ok := strings.CutSuffix(q, suffix); ok {
			var v int64
			if _, err := fmt.Sscan(n, &v); err == nil {
				return v * unit
			}
		}
	}
	t.Fatalf("quantity %q: want a whole number of Ki, Mi or Gi", q)
	return 0
}

// TestSidecarConfigRuns starts a node with the ConfigMap's file, its paths
// moved into the test's directories (the region file into one on /dev/shm)
// and its listeners onto free ports of 127.0.0.1: it answers /readyz, and
// the official client writes and reads its namespace.
func TestSidecarConfigRuns(t *testing.T) {
	_, cfg, _ := sidecar(t)
	shm, err := os.MkdirTemp("/dev/shm", "skiff-deploy-test-")
	if err != nil {
		t.Skipf("no /dev/shm for the region file: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(shm) })
	cfg.Service.WorkDirectory = t.TempDir()
	cfg.UDF.UserPath = t.TempDir()
	cfg.Network.Service = config.Endpoint{Address: "127.0.0.1"}
	cfg.Network.Admin = config.Endpoint{Address: "127.0.0.1", Port: nodetest.FreePort(t)} // port 0 turns it off
	for _, ns := range cfg.Namespaces {
		ns.Storage.Mode = config.ModeInProcess // the plugin binaries are not built here
		if ns.Storage.RegionFile != "" {
			ns.Storage.RegionFile = filepath.Join(shm, filepath.Base(ns.Storage.RegionFile))
		}
	}
	n := nodetest.Start(t, cfg)

	resp, err := http.Get("http://" + n.Admin.String() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz: %s", resp.Status)
	}
	p := as.NewClientPolicy()
	p.Timeout = 5 * time.Second
	p.ClusterName = cfg.Service.ClusterName
	c, err := as.NewClientWithPolicy(p, "127.0.0.1", n.Service.Port)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, ns := range cfg.Namespaces {
		k, err := as.NewKey(ns.Name, "s", "k")
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Put(nil, k, as.BinMap{"v": ns.Name}); err != nil {
			t.Fatalf("put in %s: %v", ns.Name, err)
		}
		if rec, err := c.Get(nil, k); err != nil || rec.Bins["v"] != ns.Name {
			t.Fatalf("get in %s: %v, %v", ns.Name, rec, err)
		}
	}
}
