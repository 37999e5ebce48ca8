#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The installed libhutch.a: the internal archive as one object whose only global
symbols are the functions include/hutch.h declares (every other one made local).

  export-public.py OUT.a INTERNAL.a hutch.h LD OBJCOPY AR NM

Fails when hutch.h declares a function the archive does not define.
"""
import os
import re
import subprocess
import sys
import tempfile


def main():
    out, internal, header, ld, objcopy, ar, nm = sys.argv[1:8]
    text = open(header, encoding='utf-8').read()
    text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)  # comments name functions too
    # a function's name before its '(' (not a struct or enum tag, not a pointer type)
    names = sorted(set(re.findall(r'(?<!enum )(?<!struct )(?<!\(\*)\b(hutch_[a-z0-9_]+)\s*\(',
                                  text)))
    with tempfile.TemporaryDirectory() as tmp:
        syms = os.path.join(tmp, 'public.sym')
        obj = os.path.join(tmp, 'hutch.o')
        with open(syms, 'w') as f:
            f.write('\n'.join(names) + '\n')
        subprocess.check_call([ld, '-r', '--whole-archive', internal, '-o', obj])
        subprocess.check_call([objcopy, '--keep-global-symbols=' + syms, obj])
        defined = set()
        for line in subprocess.check_output([nm, '--defined-only', '-g', obj], text=True).splitlines():
            parts = line.split()
            if len(parts) == 3:
                defined.add(parts[2])
        missing = sorted(set(names) - defined)
        extra = sorted(defined - set(names))
        if missing or extra:
            for m in missing:
                print(f'export-public: {header} declares {m}, the library does not define it',
                      file=sys.stderr)
            for e in extra:
                print(f'export-public: {e} is global but not in {header}', file=sys.stderr)
            return 1
        if os.path.exists(out):
            os.unlink(out)
        subprocess.check_call([ar, 'rcsD', out, obj])
    return 0


if __name__ == '__main__':
    sys.exit(main())
