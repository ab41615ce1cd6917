#!/usr/bin/env python3
"""Builds a synthetic release history of the Python reference client for
`conform audit`'s tests, bench and README: OUT/releases/<name>/ (one folder
per release), OUT/tgz/*.tgz (the same, packed by `npm pack`) and OUT/git (a
repository whose commits bump package.json's version).

usage: make_history.py OUT [--count N [--strip-from K]] [--no-git] [--no-tgz]

With the default twelve releases each has one behaviour (see BEHAVIOURS);
any other --count gives N well-behaved releases 1.0.0 ... 1.(N-1).0, of
which those from index K on strip fragments."""

import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "reference_client.py")

# version -> flags the release behaves as if always given
BEHAVIOURS = [
    ("1.0.0", []),
    ("1.1.0", []),
    ("1.2.0", ["--strip-fragments"]),
    ("1.3.0", ["--strip-fragments"]),
    ("1.4.0", []),
    ("1.5.0", ["--charge-dry-runs"]),
    ("1.6.0", []),
    ("1.7.0", ["--repair-from-handoff"]),
    ("1.8.0", ["--crash"]),
    ("1.9.0", ["--hang"]),
    ("1.10.0", []),
    ("1.11.0", []),
]


def write_release(folder, version, flags):
    os.makedirs(os.path.join(folder, "bin"), exist_ok=True)
    source = open(CLIENT).read()
    marker = "BUILT_IN_FLAGS = []"
    assert marker in source, "reference_client.py lost its BUILT_IN_FLAGS line"
    source = source.replace(marker, "BUILT_IN_FLAGS = " + json.dumps(flags), 1)
    entry = os.path.join(folder, "bin", "image-skill.py")
    with open(entry, "w") as f:
        f.write(source)
    os.chmod(entry, 0o755)
    with open(os.path.join(folder, "package.json"), "w") as f:
        json.dump({"name": "synthetic-image-skill", "version": version,
                   "bin": {"image-skill": "bin/image-skill.py"},
                   "files": ["bin"]}, f, indent=2)
        f.write("\n")


def git(repo, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME="conform", GIT_AUTHOR_EMAIL="conform@localhost",
               GIT_COMMITTER_NAME="conform", GIT_COMMITTER_EMAIL="conform@localhost")
    subprocess.run(["git", "-C", repo, *args], check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    args = sys.argv[1:]
    out = args[0]
    count = int(args[args.index("--count") + 1]) if "--count" in args else len(BEHAVIOURS)
    strip_from = int(args[args.index("--strip-from") + 1]) if "--strip-from" in args else count
    history = BEHAVIOURS if count == len(BEHAVIOURS) and "--strip-from" not in args else [
        ("1.%d.0" % i, ["--strip-fragments"] if i >= strip_from else []) for i in range(count)]
    shutil.rmtree(out, ignore_errors=True)
    releases = os.path.join(out, "releases")
    for version, flags in history:
        write_release(os.path.join(releases, "v" + version), version, flags)
    if "--no-tgz" not in args:
        tgz = os.path.join(out, "tgz")
        os.makedirs(tgz)
        for version, _ in history:
            subprocess.run(["npm", "pack", "--silent", "--pack-destination", tgz,
                            os.path.join(releases, "v" + version)],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if "--no-git" not in args:
        repo = os.path.join(out, "git")
        os.makedirs(repo)
        git(repo, "init", "-q", "-b", "main")
        for version, flags in history:
            # The bump commit of 1.3.0 still crashes; a later commit fixes
            # it to the release's real behaviour: the audit must take the
            # LAST commit carrying a version.
            first = ["--crash"] if history is BEHAVIOURS and version == "1.3.0" else flags
            write_release(repo, version, first)
            git(repo, "add", "-A")
            git(repo, "commit", "-q", "-m", "release " + version)
            if first != flags:
                write_release(repo, version, flags)
                git(repo, "commit", "-q", "-am", "fix the start-up crash of " + version)
            with open(os.path.join(repo, "NOTES.md"), "a") as f:
                f.write("notes after %s\n" % version)
            git(repo, "add", "-A")
            git(repo, "commit", "-q", "-m", "notes after " + version)


main()
