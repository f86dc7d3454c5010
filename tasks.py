"""Invoke root: assembles the suite's task modules into one namespace, nothing else."""

from invoke import Collection

from todo_deploy.base.defaults import collection_defaults
from todo_deploy.tasks import cluster, day2, dev, images, lifecycle, loop, manifests

ns = Collection(
    lifecycle.deploy,
    lifecycle.teardown,
    day2.status,
    day2.logs,
    day2.port_forward,
    day2.restart,
    day2.rollback,
    day2.doctor,
    day2.isolation,
    manifests.manifests,
    dev.dev,
    loop.watch,
)
ns.add_collection(Collection.from_module(cluster), "cluster")
ns.add_collection(Collection.from_module(images), "images")
ns.configure({"deploy": collection_defaults()})
