#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Check the library's include graph against its dependency rule (docs/ARCHITECTURE.md).

Each directory under src/lib/ is a subsystem. A subsystem may include the headers of
the subsystems listed for it in ALLOWED below and its own; include/hutch.h is open to
all. The program (src/cli) uses the library through include/hutch.h, plus the
dependency-free helpers of base/ (cleanup, errors, escaping, files), which it links from
the internal archive. Fails (status 1) on:
  - an #include "dir/..." that goes against ALLOWED;
  - a cycle between modules (a module is x.c with its x.h, or a header alone), across
    the whole library, except the cycles written in scripts/deps-cycles.txt, a list that
    may only shrink (one cycle a line, its modules sorted, space-separated);
  - a file of src/lib/ outside a subsystem directory, or a directory not in ALLOWED;
  - an include of src/cli/ of a library header other than hutch.h and base/.

  scripts/check-deps.py [--graph]     (--graph: print the module graph and the cycles)
"""
import os
import re
import sys

# Lower layers first; each one may use those it lists, nothing above it.
ALLOWED = {
    'base': [],
    'policy': ['base'],
    'limits': ['base', 'policy'],
    'net': ['base', 'policy'],
    'sandbox': ['base', 'policy'],
    'audit': ['base', 'policy', 'limits', 'net', 'sandbox'],
    'session': ['base', 'policy', 'sandbox', 'audit'],
    'run': ['base', 'policy', 'limits', 'net', 'sandbox', 'audit', 'session'],
    'oci': ['base', 'policy', 'sandbox', 'net', 'audit'],
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def lib_files(repo):
    out = []
    for d, _, names in os.walk(os.path.join(repo, 'src/lib')):
        for n in names:
            if n.endswith(('.c', '.h')):
                out.append(os.path.relpath(os.path.join(d, n), os.path.join(repo, 'src/lib')))
    return sorted(out)


def resolve(lib, path, inc):
    """The included file relative to src/lib, or None (hutch.h, system-like)."""
    here = os.path.normpath(os.path.join(os.path.dirname(path), inc))
    if os.path.exists(os.path.join(lib, here)):
        return here
    if os.path.exists(os.path.join(lib, inc)):
        return os.path.normpath(inc)
    return None


def module(path):
    return re.sub(r'(-int)?\.[ch]$', '', path)


def cycles(graph):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    lib = os.path.join(repo, 'src/lib')
    bad = []
    graph = {}
    for path in lib_files(repo):
        sub = path.split('/')[0]
        if '/' not in path:
            if path != 'meson.build':
                bad.append(f'src/lib/{path}: outside a subsystem directory')
            continue
        if sub not in ALLOWED:
            bad.append(f'src/lib/{path}: {sub}/ is not a subsystem of scripts/check-deps.py')
            continue
        text = open(os.path.join(lib, path), encoding='utf-8', errors='replace').read()
        me = module(path)
        graph.setdefault(me, set())
        for n, m in enumerate(INCLUDE.finditer(text)):
            target = resolve(lib, path, m.group(1))
            if target is None:
                continue
            line = text.count('\n', 0, m.start()) + 1
            tsub = target.split('/')[0]
            if tsub != sub and tsub not in ALLOWED[sub]:
                bad.append(f'src/lib/{path}:{line}: {sub}/ may not include {target} '
                           f'({sub}/ uses only {", ".join(ALLOWED[sub]) or "nothing of hutch"})')
            if module(target) != me:
                graph[me].add(module(target))
    cli = os.path.join(repo, 'src/cli')
    for name in sorted(os.listdir(cli)):
        if not name.endswith(('.c', '.h')):
            continue
        text = open(os.path.join(cli, name), encoding='utf-8', errors='replace').read()
        for m in INCLUDE.finditer(text):
            inc = m.group(1)
            if '/' not in inc and os.path.exists(os.path.join(cli, inc)):
                continue  # the program's own
            if inc == 'hutch.h' or inc.startswith('base/'):
                continue
            line = text.count('\n', 0, m.start()) + 1
            bad.append(f'src/cli/{name}:{line}: the program includes {inc}: only hutch.h '
                       f'and base/ (what it needs of the library belongs in include/hutch.h)')
    known_file = os.path.join(repo, 'scripts/deps-cycles.txt')
    known = set()
    if os.path.exists(known_file):
        for l in open(known_file):
            l = l.split('#')[0].strip()
            if l:
                known.add(tuple(sorted(l.split())))
    found = cycles(graph)
    for c in found:
        if tuple(c) not in known:
            bad.append('include cycle between modules: ' + ' '.join(c))
    for k in sorted(known - {tuple(c) for c in found}):
        bad.append('scripts/deps-cycles.txt lists a cycle that is gone (remove the line): ' + ' '.join(k))
    if '--graph' in sys.argv:
        for v in sorted(graph):
            print(f'{v}: {" ".join(sorted(graph[v]))}')
        for c in found:
            print('cycle: ' + ' '.join(c))
    for b in bad:
        print('check-deps: ' + b, file=sys.stderr)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
