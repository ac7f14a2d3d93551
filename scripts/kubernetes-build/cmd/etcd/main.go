// etcd for the test cluster, built from the etcd server module that k8s.io/kubernetes itself pins
// (go.etcd.io/etcd/server/v3): the same release the API server is tested with upstream.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
