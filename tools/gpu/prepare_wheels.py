"""Download, on a machine with a package index, what the GPU acceptance
(``tools/gpu/acceptance.sh``) installs on an offline CUDA machine that has
its own torch: the OpenMMLab packages and their requirements that such a
machine lacks, as wheels for its Python and platform, and mmcv's source
release (built there with CUDA ops).

    python tools/gpu/prepare_wheels.py [--out .gpu_wheels] \
        [--python-version 3.12] [--limit-mib 64]

Writes the files and ``manifest.json`` (name, bytes, sha256 of each) to
``--out``, then checks that they fit, with the repository's tracked files,
into what a carry to that machine may hold (``--limit-mib``); too much stops
with the sizes listed. ``--dry-run`` prints the pip commands only.
"""
import argparse
import hashlib
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

#: What the acceptance imports and a CUDA machine with torch, numpy, scipy,
#: matplotlib, OpenCV, pyyaml, regex, rich, einops, pytest and the like
#: (the image described in docs/installation.md) lacks; pinned to the
#: versions the CPU stack of tools/setup_env.sh runs.
WHEELS = (
    'mmengine==0.10.7',
    'mmdet==3.3.0',
    'mmpretrain==1.2.0',
    'mmsegmentation==1.2.2',
    'addict==2.4.0',
    'yapf==0.43.0',
    'termcolor==3.3.0',
    'platformdirs==4.14.9',
    'terminaltables==3.1.10',
    'pycocotools==2.0.10',
    'shapely==2.1.2',
    'prettytable==3.16.0',
    'wcwidth==0.2.14',
    'ftfy==6.3.1',
    'mat4py==0.6.0',
    'modelindex==0.0.2',
    'ordered-set==4.1.0',
)
#: Built on the target with CUDA ops (tools/build_mmcv.sh).
SDISTS = ('mmcv==2.1.0', )
PLATFORMS = ('manylinux_2_28_x86_64', 'manylinux_2_27_x86_64',
             'manylinux_2_17_x86_64', 'manylinux2014_x86_64',
             'manylinux1_x86_64')


def download_commands(out: Path, python_version: str) -> list:
    """The pip commands: binary wheels for the target, then the sdists
    (whose setup.py imports torch: no build isolation)."""
    wheels = [
        sys.executable, '-m', 'pip', 'download', '--no-deps',
        '--only-binary=:all:', '--python-version', python_version,
        '--implementation', 'cp', *(f'--platform={p}'
                                    for p in PLATFORMS), '-d',
        str(out), *WHEELS
    ]
    sdists = [
        sys.executable, '-m', 'pip', 'download', '--no-deps',
        '--no-binary=:all:', '--no-build-isolation', '-d',
        str(out), *SDISTS
    ]
    return [wheels, sdists]


def tracked_bytes(repo: Path = REPO) -> int:
    """Bytes of the repository's tracked files (what travels besides the
    carried folder)."""
    names = subprocess.run(['git', 'ls-files', '-z'],
                           cwd=repo,
                           check=True,
                           capture_output=True).stdout.split(b'\0')
    return sum((repo / n.decode()).stat().st_size for n in names
               if n and (repo / n.decode()).is_file())


def write_manifest(out: Path) -> dict:
    """``manifest.json`` of every file in ``out``."""
    files = {}
    for path in sorted(out.iterdir()):
        if path.name == 'manifest.json' or not path.is_file():
            continue
        files[path.name] = dict(
            bytes=path.stat().st_size,
            sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    manifest = dict(wheels=list(WHEELS), sdists=list(SDISTS), files=files)
    (out / 'manifest.json').write_text(json.dumps(manifest, indent=1))
    return manifest


def check_fits(manifest: dict, repo_bytes: int, limit_mib: float) -> list:
    """Lines for the size table; raises ``SystemExit`` when the files and
    the repository together exceed ``limit_mib``."""
    mib = 2**20
    rows = sorted(manifest['files'].items(), key=lambda kv: -kv[1]['bytes'])
    lines = [f'{info["bytes"] / mib:8.2f} MiB  {name}' for name, info in rows]
    carried = sum(info['bytes'] for _, info in rows)
    total = carried + repo_bytes
    lines += [
        f'{carried / mib:8.2f} MiB  all {len(rows)} files',
        f'{repo_bytes / mib:8.2f} MiB  the repository\'s tracked files',
        f'{total / mib:8.2f} MiB  together (limit {limit_mib:g} MiB)'
    ]
    if total > limit_mib * mib:
        raise SystemExit('\n'.join(lines) + '\nerror: the wheels and the '
                         f'repository need {total / mib:.1f} MiB, more than '
                         f'the {limit_mib:g} MiB a carry holds: drop what the '
                         'target already has from WHEELS, or carry a '
                         'prebuilt mmcv wheel instead of building it there')
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', type=Path, default=REPO / '.gpu_wheels')
    parser.add_argument(
        '--python-version',
        default='3.12',
        help="the target's Python (major.minor)")
    parser.add_argument('--limit-mib', type=float, default=64)
    parser.add_argument('--dry-run', action='store_true')
    args = parser.parse_args(argv)
    commands = download_commands(args.out, args.python_version)
    if args.dry_run:
        for command in commands:
            print(' '.join(command))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for command in commands:
        result = subprocess.run(command)
        if result.returncode != 0:
            raise SystemExit(f'error: {" ".join(command[3:6])} ... failed '
                             f'(exit {result.returncode}); see pip\'s output '
                             'above')
    manifest = write_manifest(args.out)
    missing = [
        spec for spec in WHEELS + SDISTS
        if not any(name.lower().replace('_', '-').startswith(
            spec.split('==')[0].lower().replace('_', '-') + '-' +
            spec.split('==')[1]) for name in manifest['files'])
    ]
    if missing:
        raise SystemExit(f'error: pip left out {missing} in {args.out}')
    print('\n'.join(check_fits(manifest, tracked_bytes(), args.limit_mib)))
    print(f'ok: carry {args.out} (name it in the device call\'s carry) and '
          'run bash tools/gpu/acceptance.sh there')
    return 0


if __name__ == '__main__':
    sys.exit(main())
