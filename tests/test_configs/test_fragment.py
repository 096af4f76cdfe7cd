"""configs/_base_/fishnet.py merges beside every upstream config: it holds
variables only, under names that no config of the installed mmdet, mmseg
and mmpretrain zoos defines, and loads beside every zoo config that has its
own hooks or imports."""
import ast
from pathlib import Path

import pytest
from conftest import REPO, zoo_config
from mmengine.config import Config

FRAGMENT = REPO / 'configs' / '_base_' / 'fishnet.py'
TOOLBOXES = ('mmdet', 'mmseg', 'mmpretrain')
RUN_POLICY = ('custom_hooks', 'custom_imports')


def zoo_root(toolbox: str) -> Path:
    return Path(zoo_config(toolbox, ''))


def top_level_names(path: Path) -> set:
    """The names a config file assigns at its top level."""
    tree = ast.parse(path.read_text(encoding='utf-8'))
    names = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AnnAssign) else [])
        for target in targets:
            names |= {
                n.id
                for n in ast.walk(target) if isinstance(n, ast.Name)
            }
    return names


def base_files(path: Path) -> list:
    """The local ``_base_`` files of a config (scoped bases are other
    toolboxes' and are followed there)."""
    for node in ast.parse(path.read_text(encoding='utf-8')).body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == '_base_'
                for t in node.targets):
            value = ast.literal_eval(node.value)
            bases = value if isinstance(value, list) else [value]
            return [(path.parent / b).resolve() for b in bases
                    if '::' not in b]
    return []


def configs_with_run_policy(toolbox: str) -> list:
    """Every zoo config that defines ``custom_hooks`` or ``custom_imports``
    itself or through its local bases."""
    files = sorted(zoo_root(toolbox).rglob('*.py'))
    own = {
        p.resolve(): bool(top_level_names(p) & set(RUN_POLICY))
        for p in files
    }
    found = {}

    def has_policy(path):
        if path not in found:
            found[path] = own.get(path, False) or any(
                has_policy(b) for b in base_files(path) if b in own)
        return found[path]

    return [
        p for p in files if '_base_' not in p.parts and has_policy(p.resolve())
    ]


def unscoped(node):
    """A config value without the ``_scope_`` keys that a ``toolbox::``
    base adds."""
    if isinstance(node, dict):
        return {k: unscoped(v) for k, v in node.items() if k != '_scope_'}
    if isinstance(node, (list, tuple)):
        return [unscoped(v) for v in node]
    return node


def fragment_names() -> set:
    return set(Config.fromfile(FRAGMENT).keys())


def test_the_fragment_holds_fishnet_variables_only():
    names = fragment_names()
    assert names == top_level_names(FRAGMENT) - {'_fishnet_uses'}
    assert all(name.startswith(('fishnet', 'fishnext')) for name in names)
    assert not names & set(RUN_POLICY)


@pytest.mark.compat
@pytest.mark.parametrize('toolbox', TOOLBOXES)
def test_no_zoo_config_defines_a_fragment_name(toolbox):
    names = fragment_names()
    clashes = {}
    for path in zoo_root(toolbox).rglob('*.py'):
        common = top_level_names(path) & names
        if common:
            clashes[str(path)] = common
    assert not clashes


@pytest.mark.heavy
@pytest.mark.parametrize('toolbox', TOOLBOXES)
def test_the_fragment_loads_beside_every_zoo_config_with_hooks_or_imports(
        toolbox, tmp_path):
    configs = configs_with_run_policy(toolbox)
    assert configs, f'{toolbox} has configs with custom_hooks'
    root = zoo_root(toolbox)
    failures = {}
    for i, path in enumerate(configs):
        upstream = path.relative_to(root).as_posix()
        user = tmp_path / 'user.py'
        user.write_text(f"_base_ = ['{toolbox}::{upstream}', '{FRAGMENT}']\n")
        try:
            cfg = Config.fromfile(user)
        except Exception as e:  # every failure is listed below
            failures[upstream] = f'{type(e).__name__}: {e}'
            continue
        # mmengine refuses a key that two bases set, and the fragment sets
        # no run policy (the test above): what loads keeps the upstream's
        # by construction. Every fifth config checks that construction
        # with a second load; all of them would double the test's time
        # for no further case (each config goes through the same merge).
        if i % 5 == 0:
            upstream_cfg = Config.fromfile(path)
            for key in RUN_POLICY:
                assert unscoped(cfg.get(key)) == unscoped(
                    upstream_cfg.get(key)), (upstream, key)
    assert not failures, failures
    print(f'{toolbox}: {len(configs)} configs with hooks or imports')


def test_the_walk_recognises_a_config_with_hooks_through_its_bases():
    rtmdet = zoo_root('mmdet') / 'rtmdet'
    found = {p.name for p in configs_with_run_policy('mmdet')}
    # rtmdet_tiny inherits its hooks from rtmdet_s
    assert 'rtmdet_s_8xb32-300e_coco.py' in found
    assert 'rtmdet_tiny_8xb32-300e_coco.py' in found
    assert (rtmdet / 'rtmdet_tiny_8xb32-300e_coco.py').exists()


def test_the_documented_mmpretrain_recipe_classifies(tmp_path):
    import torch
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS

    from mmfishnet.runtime import check_neck_channels
    user = tmp_path / 'user.py'
    user.write_text(
        "_base_ = ['mmpretrain::resnet/resnet50_8xb32_in1k.py', "
        f"'{FRAGMENT}']\n"
        "custom_imports = dict(imports=['mmfishnet'], "
        'allow_failed_imports=False)\n'
        'data_preprocessor = {{_base_.fishnet_cls_preprocessor}}\n'
        'model = dict(\n'
        '    backbone={{_base_.fishnet150.cls_c5}},\n'
        '    head=dict(in_channels={{_base_.fishnet_channels.c5}}))\n')
    assert user.read_text().split('\n', 3)[3] in (REPO / 'docs' /
                                                  'backbone.md').read_text()
    cfg = Config.fromfile(user)
    check_neck_channels(cfg)
    cfg.model.backbone.update(arch='fishnet99', init_cfg=None)
    init_default_scope('mmpretrain')
    model = MODELS.build(cfg.model)
    logits = model(torch.rand(2, 3, 64, 64), mode='tensor')
    assert logits.shape == (2, 1000)
