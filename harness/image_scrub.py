"""Run inside a task image's build: scrub what the environment's build left that tells of later commits.

The environment image is built at the task's environment-setup commit, which can be later than
its base commit. What that build generated and the task layer keeps (the project's egg-info in
the repository, its dist-info in the venv) is then written from a later tree. This script runs twice in the
task layer, on the image's own python3 (standard library only, Python 3.9+):

    python3 image_scrub.py keep MADE_LIST > KEPT_LIST
    python3 image_scrub.py scrub REPO KEPT_LIST VENV

`keep` names the build artefacts worth copying into the repository: not bytecode, build/,
dist/ or .eggs/, which copy or compile the later sources and are remade on use (build/'s
editable-install links stay). `scrub` keeps in them only what a base-commit tree can have
said: each egg-info's SOURCES.txt lists only files the repository holds, and core metadata
(PKG-INFO, the editable install's METADATA in VENV) loses its description (the README,
often the changelog, of the later commit). Only the kept artefacts are touched: a tracked
file changed here would show in every agent's diff. What stays is named in
harness/images.py: versions, the names of top-level packages and entry points, and
compiled extensions built from the later sources.
"""

import json
import os
import sys


def without_description(text):
    """Core metadata (RFC 822 headers, then the description as body) without the description."""
    head = text.split("\n\n", 1)[0]
    kept, in_description = [], False
    for line in head.split("\n"):
        if line.startswith("Description:"):
            in_description = True
            continue
        if in_description and line[:1] in (" ", "\t"):  # a continuation line of the old Description header
            continue
        in_description = False
        kept.append(line)
    return "\n".join(kept).rstrip("\n") + "\n"


def scrub_sources(path, repo):
    """SOURCES.txt with only the files the repository has."""
    with open(path, encoding="utf-8", errors="surrogateescape") as fh:
        lines = fh.read().splitlines()
    kept = [line for line in lines if line and os.path.lexists(os.path.join(repo, line))]
    with open(path, "w", encoding="utf-8", errors="surrogateescape") as fh:
        fh.write("".join(line + "\n" for line in kept))


def scrub_metadata(path):
    with open(path, encoding="utf-8", errors="surrogateescape") as fh:
        text = fh.read()
    with open(path, "w", encoding="utf-8", errors="surrogateescape") as fh:
        fh.write(without_description(text))


def editable_dist_infos(venv, source_dir):
    """The venv's dist-info directories of projects installed in editable mode from `source_dir`."""
    for top, _, files in os.walk(venv):
        if "direct_url.json" in files and top.endswith(".dist-info"):
            try:
                with open(os.path.join(top, "direct_url.json")) as fh:
                    url = json.load(fh).get("url", "")
            except (OSError, ValueError):
                continue
            if url.rstrip("/") == "file://" + source_dir.rstrip("/") or url.startswith("file://" + source_dir + "/"):
                yield top


def keep(rel):
    """Whether the artefact at `rel` (relative to the project's root) is copied into the task's repository."""
    parts = rel.split("/")
    if "__pycache__" in parts or rel.endswith((".pyc", ".pyo")) or parts[0] in ("dist", ".eggs"):
        return False
    return parts[0] != "build" or (len(parts) > 1 and parts[1].startswith("__editable__"))


def scrub(repo, kept_list, venv, source_dir="/testbed"):
    with open(kept_list, encoding="utf-8", errors="surrogateescape") as fh:
        kept = [line for line in fh.read().splitlines() if line]
    for rel in kept:
        parts = rel.split("/")
        if not any(part.endswith(".egg-info") for part in parts[:-1]):
            continue
        path = os.path.join(repo, rel)
        if parts[-1] == "SOURCES.txt":
            scrub_sources(path, repo)
        elif parts[-1] == "PKG-INFO":
            scrub_metadata(path)
    for dist_info in editable_dist_infos(venv, source_dir):
        if os.path.exists(os.path.join(dist_info, "METADATA")):
            scrub_metadata(os.path.join(dist_info, "METADATA"))


def main(argv):
    if argv[:1] == ["keep"]:
        with open(argv[1], encoding="utf-8", errors="surrogateescape") as fh:
            made = fh.read().splitlines()
        sys.stdout.write("".join(rel + "\n" for rel in made if rel and keep(rel)))
    elif argv[:1] == ["scrub"]:
        scrub(*argv[1:4])
    else:
        sys.exit("usage: image_scrub.py keep MADE_LIST | scrub REPO KEPT_LIST VENV")


if __name__ == "__main__":
    main(sys.argv[1:])
