"""The bundle's step tree: every workflow, steps nested under their branch, with what each does."""
from __future__ import annotations

import json

from bs4 import BeautifulSoup

from harness.authoring.bundles import step_tree
from harness.workflow import definition_of, step_types, workflow_step_types
from harness.authoring.scaffold import new_fixture
from harness.workflow import load_bundle


def _bundle(tmp_path, template: str):
    return load_bundle(new_fixture("tree-me", template=template, directory=tmp_path) / "bundle.json")


def _children(step, branch: str) -> list[str]:
    found = step.find("div", class_="harness-branch", attrs={"data-branch": branch}, recursive=False)
    return [s["data-step-path"] for s in found.find_all("div", class_="harness-step", recursive=False)]


def test_branches_loops_and_try_catch_nest_with_their_labels(tmp_path):
    tree = step_tree(_bundle(tmp_path, "control-flow"))
    assert repr(tree) == "StepTree(fixture.tree-me: 12 steps)"
    soup = BeautifulSoup(tree._repr_html_(), "html.parser")
    root = soup.select_one(".harness-step-tree")
    assert root.select_one(".harness-workflow").text == "fixture.tree-me"
    top = root.find_all("div", class_="harness-step", recursive=False)
    by_id = {s.find("b").text: s for s in root.select(".harness-step")}
    assert [s["data-type"] for s in top] == ["state.set", "transform.assign", "control.if", "control.forEach",
                                             "control.tryCatch", "control.return"]

    choose = by_id["choose-branch"]
    assert _children(choose, "then") == ["root.steps[2].then.steps[0]"]
    assert _children(choose, "else") == ["root.steps[2].else.steps[0]"]
    assert "if payload.fixtureVariant = 'A'" in choose.find("div").text
    loop = by_id["collect-items"]
    assert _children(loop, "body") == ["root.steps[3].body.steps[0]"]
    assert "for item in payload.fixtureItems" in loop.find("div").text
    guarded = by_id["guarded"]
    assert _children(guarded, "try") == ["root.steps[4].try.steps[0]", "root.steps[4].try.steps[1]"]
    assert _children(guarded, "catch") == ["root.steps[4].catch.steps[0]"]
    assert [b.find("div").text for b in guarded.find_all("div", class_="harness-branch", recursive=False)] == [
        "try", "catch"], "each branch is labelled"
    assert by_id["read-missing"]["title"] == "root.steps[4].try.steps[0]"


def test_action_calls_show_action_and_version(tmp_path):
    soup = BeautifulSoup(step_tree(_bundle(tmp_path, "api"))._repr_html_(), "html.parser")
    calls = soup.select('.harness-step[data-type="action.call"]')
    texts = [c.find("div").text for c in calls]
    assert any("tickets.find@1" in t and "saveAs vars.lookup" in t for t in texts), texts
    assert any("tickets.add_comment@1" in t for t in texts), texts


def test_every_workflow_of_a_bundle_is_drawn(tmp_path):
    bundle = _bundle(tmp_path, "event")
    second = json.loads(json.dumps(bundle.data["workflows"][0]))
    second["key"] = "fixture.second"
    bundle.data["workflows"].append(second)
    keys = [w.text for w in BeautifulSoup(step_tree(bundle)._repr_html_(), "html.parser").select(".harness-workflow")]
    assert keys == ["fixture.tree-me", "fixture.second"]


def test_step_types_map_step_paths_to_node_types(tmp_path):
    definition = definition_of(_bundle(tmp_path, "control-flow").data["workflows"][0])
    types = step_types(definition)
    assert types["root.steps[2]"] == "control.if" and types["root.steps[4].catch.steps[0]"] == "transform.assign"


def test_step_types_of_a_workflow_are_found_by_key(tmp_path):
    workflows = _bundle(tmp_path, "control-flow").data["workflows"]
    key = workflows[0]["key"]
    assert workflow_step_types(workflows, key) == step_types(definition_of(workflows[0]))
    assert workflow_step_types(workflows, "fixture.not-here") == {}
