"""tools/analysis/zoo_compat.py: every model family of the installed mmdet
and mmseg zoos runs a loss, a backward and a predict with FishNet swapped
in by the documented recipe."""

import pytest
from conftest import REPO, load_tool

TOOL = REPO / 'tools' / 'analysis' / 'zoo_compat.py'
# The shorter walk of the oldest stack: one family per kind of recipe
COMPAT = {
    'mmdet': ('faster_rcnn', 'dino', 'detr', 'mask2former', 'rtmdet',
              'centernet', 'libra_rcnn', 'yolo'),
    'mmseg':
    ('pspnet', 'deeplabv3plus', 'upernet', 'sem_fpn', 'ann', 'encnet', 'knet'),
}

zoo = load_tool(TOOL)
CASES = [
    pytest.param(
        toolbox,
        folder,
        marks=[pytest.mark.compat] if folder in COMPAT[toolbox] else [],
        id=f'{toolbox}-{folder}') for toolbox in zoo.FAMILIES
    for folder in sorted(zoo.FAMILIES[toolbox])
]


@pytest.mark.compat
@pytest.mark.parametrize('toolbox', sorted(zoo.FAMILIES))
def test_every_config_folder_is_walked_or_left_out_with_a_reason(toolbox):
    walked, left_out = set(zoo.FAMILIES[toolbox]), set(zoo.LEFT_OUT[toolbox])
    assert not walked & left_out
    assert set(zoo.family_folders(toolbox)) == walked | left_out
    for folder, (config, recipe) in zoo.FAMILIES[toolbox].items():
        assert (zoo.installed_configs(toolbox) / folder / config).is_file()
        assert recipe in zoo.RECIPES


@pytest.mark.parametrize('toolbox,folder', CASES)
def test_the_family_runs_with_fishnet(toolbox, folder, tmp_path):
    ok, message = zoo.walk(toolbox, folder, str(tmp_path))
    assert ok, message


def test_a_family_that_fails_is_reported_with_its_error(tmp_path, monkeypatch):
    # a recipe that forgets the neck's channels
    monkeypatch.setitem(zoo.RECIPES, 'backbone_only',
                        ('', ['backbone={{_base_.fishnet150.det_c2_c5}}']))
    monkeypatch.setitem(zoo.FAMILIES['mmdet'], 'faster_rcnn',
                        ('faster-rcnn_r50_fpn_1x_coco.py', 'backbone_only'))
    ok, message = zoo.walk('mmdet', 'faster_rcnn', str(tmp_path))
    assert not ok
    # the check stops the wrong channels before the model runs
    assert 'Set model.neck.in_channels=[80, 208, 400, 528]' in message


def test_the_tool_prints_the_table(tmp_path, capsys):
    table = tmp_path / 'table.md'
    code = zoo.main(
        ['--toolbox', 'mmseg', '--families', 'fcn', '--markdown',
         str(table)])
    assert code == 0
    assert '| mmseg | fcn | `fcn_r50-d8_4xb4-80k_ade20k-512x512.py` | ' \
        'seg_stride8 | ok |' in table.read_text()
    assert '1 of 1 families ran' in capsys.readouterr().out


def test_docs_show_every_recipe_line_verbatim():
    page = (REPO / 'docs' / 'backbone.md').read_text()
    for name, (_, lines) in zoo.RECIPES.items():
        for line in lines:
            assert f'`{line}`' in page, (name, line)
    assert f'`{zoo.SEG_AUX}`' in page
    assert zoo.PREPROCESSOR in page


def test_the_compatibility_table_lists_every_family():
    page = (REPO / 'docs' / 'zoo_compat.md').read_text()
    for toolbox in zoo.FAMILIES:
        for folder in (*zoo.FAMILIES[toolbox], *zoo.LEFT_OUT[toolbox]):
            assert f'| {toolbox} | {folder} |' in page, folder
