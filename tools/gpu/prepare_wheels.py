"""Download, on a machine with a package index, what the GPU acceptance
(``tools/gpu/acceptance.sh``) installs on an offline (air-gapped) CUDA
machine that has its own torch: the OpenMMLab packages and their
requirements that the machine's image lacks, as wheels for its Python and
platform, and mmcv's source release (built there with CUDA ops unless a
prebuilt mmcv wheel is copied along).

    # on the offline machine: what its image has
    pip freeze > image_packages.txt
    # on a machine with a package index
    python tools/gpu/prepare_wheels.py --image-packages image_packages.txt \
        [--out .gpu_wheels] [--python-version 3.12] [--limit-mib MIB] \
        [--no-sdist]
    python tools/gpu/prepare_wheels.py --verify .gpu_wheels

Runs on a bare Python (standard library and pip only). Writes the files and
``manifest.json`` (name, bytes, sha256 of each) to ``--out`` and checks that
every requirement of every wheel is met by the set itself or by the target
image's packages (``--image-packages``; without it the example list beside
this file, an H200 image's). ``--limit-mib``, for transfers with a size cap,
also checks that the files and the repository's tracked files fit into it.
``--verify`` checks a copied folder against its manifest (what
``acceptance.sh`` does before installing). ``--dry-run`` prints the
downloads only.
"""
import argparse
import hashlib
import json
import re
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: The package list of an example target image (see its header).
EXAMPLE_IMAGE = Path(__file__).with_name('example_image_packages.txt')

#: What the acceptance imports and the target image lacks; the OpenMMLab
#: packages pinned to the versions the CPU stack of tools/setup_env.sh runs.
#: mmpretrain requires "modelindex", a module that the distribution
#: ``model-index`` provides (the ``modelindex`` project on the index is
#: another package).
WHEELS = (
    'mmengine==0.10.7',
    'mmdet==3.3.0',
    'mmpretrain==1.2.0',
    'mmsegmentation==1.2.2',
    'addict==2.4.0',
    'yapf==0.43.0',
    'platformdirs==4.14.9',
    'termcolor==3.3.0',
    'terminaltables==3.1.10',
    'pycocotools==2.0.10',
    'shapely==2.1.2',
    'prettytable==3.16.0',
    'wcwidth==0.2.14',
    'ftfy==6.3.1',
    'mat4py==0.6.0',
    'importlib-metadata==8.5.0',
    'model-index==0.1.11',
    'ordered-set==4.1.0',
)
#: Built on the target with CUDA ops (tools/build_mmcv.sh).
SDISTS = ('mmcv==2.1.0', )
#: mmcv 2.1.0's requirements (its sdist's requirements/runtime.txt).
SDIST_REQUIRES = {
    'mmcv': ('addict', 'mmengine', 'numpy', 'packaging', 'Pillow', 'pyyaml',
             'yapf', 'opencv-python')
}
#: requirement name -> the distribution that provides its modules
PROVIDED_BY = {
    'modelindex': 'model-index',
    'opencv-python': 'opencv-python-headless',
}
PLATFORMS = ('manylinux_2_28_x86_64', 'manylinux_2_27_x86_64',
             'manylinux_2_17_x86_64', 'manylinux2014_x86_64',
             'manylinux1_x86_64')
INDEX = 'https://pypi.org/simple'


def normalise(name: str) -> str:
    """A distribution name as the index compares them (PEP 503)."""
    return re.sub(r'[-_.]+', '-', name).lower()


def wheel_command(out: Path, python_version: str) -> list:
    """pip's download of the binary wheels for the target (no
    dependencies: the set is complete by itself, see
    :func:`unmet_requirements`)."""
    return [
        sys.executable, '-m', 'pip', 'download', '--no-deps',
        '--only-binary=:all:', '--python-version', python_version,
        '--implementation', 'cp', *(f'--platform={p}'
                                    for p in PLATFORMS), '-d',
        str(out), *WHEELS
    ]


def download_sdist(spec: str, out: Path, index: str = INDEX) -> Path:
    """The source release of ``spec`` (``name==version``) from the index's
    simple API (its JSON form, PEP 691), checked against the sha256 the
    index gives. pip would run the sdist's setup.py to read its metadata,
    which for mmcv needs torch and the build tools; a plain download needs
    neither."""
    name, version = spec.split('==')
    request = urllib.request.Request(
        f'{index.rstrip("/")}/{normalise(name)}/',
        headers=dict(Accept='application/vnd.pypi.simple.v1+json'))
    with urllib.request.urlopen(request) as r:
        files = json.load(r)['files']
    wanted = [f for f in files if f['filename'] == f'{name}-{version}.tar.gz']
    if not wanted:
        raise SystemExit(f'error: {index} lists no {name}-{version}.tar.gz')
    info = wanted[0]
    with urllib.request.urlopen(info['url']) as r:
        data = r.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != info['hashes']['sha256']:
        raise SystemExit(f'error: {info["url"]} has sha256 {digest}, the '
                         f'index says {info["hashes"]["sha256"]}')
    target = out / info['filename']
    target.write_bytes(data)
    return target


def tracked_bytes(repo: Path = REPO) -> int:
    """Bytes of the repository's tracked files (what travels besides the
    carried folder)."""
    names = subprocess.run(['git', 'ls-files', '-z'],
                           cwd=repo,
                           check=True,
                           capture_output=True).stdout.split(b'\0')
    return sum((repo / n.decode()).stat().st_size for n in names
               if n and (repo / n.decode()).is_file())


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(2**20), b''):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(out: Path) -> dict:
    """``manifest.json`` of every file in ``out``."""
    files = {}
    for path in sorted(out.iterdir()):
        if path.name == 'manifest.json' or not path.is_file():
            continue
        files[path.name] = dict(bytes=path.stat().st_size, sha256=sha256(path))
    manifest = dict(wheels=list(WHEELS), sdists=list(SDISTS), files=files)
    (out / 'manifest.json').write_text(json.dumps(manifest, indent=1))
    return manifest


def verify(folder: Path) -> list:
    """Problems of a carried folder against its manifest: missing, changed
    or unlisted files (an empty list when it is intact)."""
    path = folder / 'manifest.json'
    if not path.is_file():
        return [
            f'{path} does not exist: prepare the folder with '
            f'python tools/gpu/prepare_wheels.py --out {folder}'
        ]
    files = json.loads(path.read_text())['files']
    problems = []
    for name, info in files.items():
        file = folder / name
        if not file.is_file():
            problems.append(f'{file} is listed in the manifest but missing')
        elif file.stat().st_size != info['bytes']:
            problems.append(f'{file} has {file.stat().st_size} bytes, the '
                            f'manifest says {info["bytes"]} (truncated '
                            'copy?)')
        elif sha256(file) != info['sha256']:
            problems.append(f'{file} does not match its sha256 in the '
                            'manifest')
    for file in sorted(folder.iterdir()):
        if file.is_file() and file.name != 'manifest.json' \
                and file.name not in files:
            problems.append(f'{file} is not in the manifest: remove it or '
                            'prepare the folder again')
    return problems


def image_packages(path: Path = EXAMPLE_IMAGE) -> set:
    """Normalised names of the distributions in ``path``, a target image's
    package list (``pip freeze`` output, comments allowed)."""
    names = set()
    for line in path.read_text().splitlines():
        line = line.split('#')[0].strip()
        if line:
            names.add(normalise(re.split(r'[<>=!~ ]', line)[0]))
    return names


def _markers_hold(marker: str, python_version: str) -> bool:
    """Whether an environment marker holds on the target (Linux x86-64,
    CPython ``python_version``), without extras."""
    if not marker:
        return True
    try:
        from packaging.markers import Marker
    except ImportError:  # a bare Python: pip's own copy
        from pip._vendor.packaging.markers import Marker
    return Marker(marker).evaluate(
        dict(
            python_version=python_version,
            python_full_version=python_version + '.0',
            sys_platform='linux',
            platform_system='Linux',
            platform_machine='x86_64',
            os_name='posix',
            implementation_name='cpython',
            platform_python_implementation='CPython',
            extra=''))


def requirement_names(requirements, python_version: str) -> list:
    """Names of the ``Requires-Dist`` entries that apply on the target."""
    names = []
    for text in requirements:
        requirement, _, marker = text.partition(';')
        if 'extra' in marker:
            continue
        if _markers_hold(marker.strip(), python_version):
            names.append(re.split(r'[<>=!~ (\[]', requirement.strip())[0])
    return names


def wheel_requirements(wheel: Path, python_version: str) -> list:
    """Names of the requirements of ``wheel`` that apply on the target."""
    with zipfile.ZipFile(wheel) as z:
        metadata = next(n for n in z.namelist()
                        if n.endswith('.dist-info/METADATA'))
        text = z.read(metadata).decode()
    return requirement_names([
        line[len('Requires-Dist:'):]
        for line in text.splitlines() if line.startswith('Requires-Dist:')
    ], python_version)


def unmet(needs: dict, carried: set, image: set) -> list:
    """``(who, requirement)`` pairs of ``needs`` (who -> requirement names)
    that neither the ``carried`` distributions nor the ``image`` meet."""
    have = {normalise(n) for n in carried} | image
    return [(who, r) for who, names in needs.items() for r in names
            if normalise(PROVIDED_BY.get(normalise(r), r)) not in have]


def unmet_requirements(folder: Path, python_version: str, image: set) -> list:
    """:func:`unmet` for the wheels of ``folder`` and the source releases
    built from it."""
    wheels = sorted(folder.glob('*.whl'))
    needs = {w.name: wheel_requirements(w, python_version) for w in wheels}
    needs.update({
        f'{name} (source)': list(names)
        for name, names in SDIST_REQUIRES.items()
    })
    carried = {w.name.split('-')[0] for w in wheels}
    carried |= {s.split('==')[0] for s in SDISTS}
    return unmet(needs, carried, image)


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
                         f'the {limit_mib:g} MiB of --limit-mib: drop what '
                         'the target already has from WHEELS, or copy a '
                         'prebuilt mmcv wheel instead of the source release')
    return lines


def missing_files(manifest: dict, specs) -> list:
    """The specs of which no file was downloaded."""
    names = [normalise(n) for n in manifest['files']]
    return [
        spec for spec in specs if not any(
            n.startswith(normalise(spec.replace('==', '-')) + '-')
            or n.startswith(normalise(spec.replace('==', '-')) + '.tar')
            for n in names)
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', type=Path, default=REPO / '.gpu_wheels')
    parser.add_argument(
        '--python-version',
        default='3.12',
        help="the target's Python (major.minor)")
    parser.add_argument(
        '--image-packages',
        type=Path,
        default=EXAMPLE_IMAGE,
        metavar='FILE',
        help='the target image\'s package list (pip freeze > FILE there); '
        f'default: the example {EXAMPLE_IMAGE.name}')
    parser.add_argument(
        '--limit-mib',
        type=float,
        metavar='MIB',
        help='fail if the files and the repository exceed MIB (for a '
        'transfer with a size cap); no limit without it')
    parser.add_argument(
        '--no-sdist',
        action='store_true',
        help='leave out mmcv\'s source release (a prebuilt mmcv wheel is '
        'carried instead, see acceptance.sh)')
    parser.add_argument(
        '--index-url',
        default=INDEX,
        help='simple API of the package index for the source release')
    parser.add_argument(
        '--verify',
        type=Path,
        metavar='FOLDER',
        help='only check FOLDER against its manifest.json')
    parser.add_argument('--dry-run', action='store_true')
    args = parser.parse_args(argv)
    if args.verify:
        problems = verify(args.verify)
        if problems:
            raise SystemExit('error: ' + '\nerror: '.join(problems))
        print(f'ok: {args.verify} matches its manifest')
        return 0
    if not args.image_packages.is_file():
        raise SystemExit(f'error: --image-packages {args.image_packages} '
                         'does not exist: write it with pip freeze on the '
                         'target machine')
    sdists = () if args.no_sdist else SDISTS
    command = wheel_command(args.out, args.python_version)
    if args.dry_run:
        print(' '.join(command))
        for spec in sdists:
            print(f'source release {spec} from {args.index_url}')
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(command)
    if result.returncode != 0:
        raise SystemExit(
            f'error: pip download of {len(WHEELS)} wheels failed '
            f'(exit {result.returncode}); see pip\'s output above')
    for spec in sdists:
        download_sdist(spec, args.out, args.index_url)
    manifest = write_manifest(args.out)
    missing = missing_files(manifest, WHEELS + sdists)
    if missing:
        raise SystemExit(f'error: pip left out {missing} in {args.out}')
    unmet = unmet_requirements(args.out, args.python_version,
                               image_packages(args.image_packages))
    if unmet:
        raise SystemExit('error: requirements met neither by the wheels nor '
                         f'by the target image ({args.image_packages}): ' +
                         ', '.join(f'{who} needs {r}' for who, r in unmet) +
                         '; add them to WHEELS')
    if args.limit_mib is not None:
        print('\n'.join(check_fits(manifest, tracked_bytes(), args.limit_mib)))
    print(f'ok: copy {args.out} to the GPU machine beside the checkout and '
          'run bash tools/gpu/acceptance.sh there')
    return 0


if __name__ == '__main__':
    sys.exit(main())
