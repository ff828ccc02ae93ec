"""Issue 8 acceptance: the Grafana dashboards are valid Grafana JSON — schema version set, unique
panel ids, a datasource variable every query uses — laid out without overlaps, referencing only
variables they define, and identical to what deploy/grafana/generate.py writes."""
import importlib.util
import json
import re

import pytest

from conftest import ROOT

GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARD_FILES = sorted((GRAFANA / "dashboards").glob("*.json"))
# Variables Grafana itself defines.
BUILTIN_VARIABLES = {"__rate_interval", "__interval", "__range", "__interval_ms", "__range_s"}
VARIABLE = re.compile(r"\$\{?(\w+)")


def load(path):
    return json.loads(path.read_text())


def all_panels(dashboard):
    for p in dashboard["panels"]:
        yield p
        yield from p.get("panels", [])


def test_the_three_dashboards_exist():
    names = {p.name for p in DASHBOARD_FILES}
    assert names == {"surgecast-overview.json", "surgecast-site.json", "surgecast-pipeline.json"}


def test_committed_json_is_what_the_generator_writes():
    spec = importlib.util.spec_from_file_location("generate", GRAFANA / "generate.py")
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    for name, build in generate.DASHBOARDS.items():
        assert (GRAFANA / "dashboards" / name).read_text() == generate.render(build()), (
            f"{name} is out of date: run python3 deploy/grafana/generate.py")


def test_dashboard_uids_are_unique():
    uids = [load(p)["uid"] for p in DASHBOARD_FILES]
    assert len(uids) == len(set(uids)), uids


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_dashboard_is_valid_grafana_json(path):
    d = load(path)
    assert isinstance(d["schemaVersion"], int) and d["schemaVersion"] >= 36, d.get("schemaVersion")
    assert d["title"] and d["uid"] and len(d["uid"]) <= 40
    assert d["time"]["from"] and d["time"]["to"]

    variables = {v["name"]: v for v in d["templating"]["list"]}
    ds = variables.get("datasource")
    assert ds is not None, "no datasource variable"
    assert ds["type"] == "datasource" and ds["query"] == "prometheus"
    for v in variables.values():
        if v["type"] == "query":
            assert v["datasource"]["uid"] == "${datasource}", v["name"]
            assert v["definition"] == v["query"]["query"]

    panels = list(all_panels(d))
    ids = [p["id"] for p in panels]
    assert all(isinstance(i, int) for i in ids), ids
    assert len(ids) == len(set(ids)), f"duplicate panel ids: {sorted(ids)}"

    cells = {}
    for p in panels:
        g = p["gridPos"]
        assert g["w"] >= 1 and g["h"] >= 1 and g["x"] >= 0 and g["y"] >= 0, (p["title"], g)
        assert g["x"] + g["w"] <= 24, (p["title"], g)
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, f"{p['title']!r} overlaps {cells[(x, y)]!r}"
                cells[(x, y)] = p["title"]

    for p in panels:
        if p["type"] == "row":
            continue
        assert p["title"], p["id"]
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
        assert p["targets"], f"panel {p['title']!r} has no query"
        refs = [t["refId"] for t in p["targets"]]
        assert len(refs) == len(set(refs)), (p["title"], refs)
        for t in p["targets"]:
            assert t["datasource"]["uid"] == "${datasource}", p["title"]
            assert t["expr"].strip(), p["title"]
            text = t["expr"] + " " + t.get("legendFormat", "") + " " + p["title"]
            for name in VARIABLE.findall(text):
                assert name in variables or name in BUILTIN_VARIABLES, (
                    f"panel {p['title']!r} uses undefined variable ${name}")


def test_provisioning_points_at_the_dashboards():
    provider = (GRAFANA / "provisioning" / "dashboards" / "surgecast.yaml").read_text()
    assert "type: file" in provider and "path:" in provider
    datasource = (GRAFANA / "provisioning" / "datasources" / "surgecast.yaml").read_text()
    assert "type: prometheus" in datasource
