"""The demo tools: shapes dataset, a short demo training, pictures, and
classification from the command line."""
import numpy as np
import pytest
import torch
from conftest import REPO, convert, run_tool_main, save_official
from mmengine.structures import InstanceData

from mmfishnet.converters.reference import deterministic_official_state

DEMO = REPO / 'tools' / 'demo'


def run(args, cwd, monkeypatch, capsys):
    """``python SCRIPT ARGS`` in ``cwd``, in this process; what it printed."""
    monkeypatch.chdir(cwd)
    capsys.readouterr()
    run_tool_main(args[0], args[1:], monkeypatch)
    return capsys.readouterr().out


def test_shapes_dataset_is_valid_coco(tmp_path, monkeypatch, capsys):
    from pycocotools.coco import COCO
    run([
        DEMO / 'make_shapes_dataset.py', tmp_path, '--train', '6', '--val', '3'
    ], tmp_path, monkeypatch, capsys)
    coco = COCO(str(tmp_path / 'annotations' / 'instances_train.json'))
    assert len(coco.getImgIds()) == 6
    assert [c['name'] for c in coco.loadCats(coco.getCatIds())
            ] == ['square', 'disc', 'triangle']
    for ann in coco.loadAnns(coco.getAnnIds()):
        mask = coco.annToMask(ann)
        # the polygon's rasterised area is its analytic area
        assert abs(mask.sum() - ann['area']) < 0.15 * ann['area']
        x, y, w, h = ann['bbox']
        ys, xs = np.nonzero(mask)
        assert xs.min() >= int(x) - 1 and xs.max() <= x + w + 1
        assert ys.min() >= int(y) - 1 and ys.max() <= y + h + 1


def test_shapes_val_split_does_not_depend_on_the_train_size(
        tmp_path, monkeypatch, capsys):
    for train in ('2', '5'):
        run([
            DEMO / 'make_shapes_dataset.py', tmp_path / train, '--train',
            train, '--val', '2'
        ], tmp_path, monkeypatch, capsys)
    val = [(tmp_path / t / 'annotations' / 'instances_val.json').read_text()
           for t in ('2', '5')]
    assert val[0] == val[1]
    train = [(tmp_path / t / 'train' / '000001.png').read_bytes()
             for t in ('2', '5')]
    assert train[0] == train[1]


@pytest.mark.heavy
def test_demo_config_trains_and_draws(tmp_path, monkeypatch, capsys):
    config = REPO / 'configs' / 'demo' / 'mask_rcnn_fishnet150_fpn_shapes.py'
    run([
        DEMO / 'make_shapes_dataset.py', 'work_dirs/demo/shapes', '--train',
        '8', '--val', '4'
    ], tmp_path, monkeypatch, capsys)
    run([
        REPO / 'tools' / 'train.py', config, '--work-dir', 'work',
        '--cfg-options', 'train_cfg.max_iters=2',
        'default_hooks.checkpoint.interval=2'
    ], tmp_path, monkeypatch, capsys)
    assert (tmp_path / 'work' / 'iter_2.pth').is_file()
    val = 'work_dirs/demo/shapes/val/'
    out = run([
        DEMO / 'image_demo.py', config, 'work/iter_2.pth', val + '000001.png',
        val + '000002.png', '--out-dir', 'pics', '--score-thr', '0',
        '--ann-file', 'work_dirs/demo/shapes/annotations/instances_val.json',
        '--grid', 'grid.png'
    ], tmp_path, monkeypatch, capsys)
    assert 'objects with score >= 0' in out
    import cv2
    picture = cv2.imread(str(tmp_path / 'pics' / '000001.png'))
    # 128 px images enlarged 3x, ground truth | prediction side by side
    assert picture is not None and picture.shape[:2] == (384, 2 * 384)
    assert cv2.imread(str(tmp_path / 'grid.png')).shape[:2] == (2 * 384,
                                                                2 * 384)
    # the left half has the ground truth drawn: not the bare image
    image = cv2.resize(
        cv2.imread(str(tmp_path / val / '000001.png')), (384, 384),
        interpolation=cv2.INTER_NEAREST)
    assert np.abs(picture[:, :384].astype(int) - image).mean() > 1


def test_classify_prints_top5_with_names(tmp_path, monkeypatch, capsys):
    save_official(tmp_path / 'fishnet99_ckpt.tar',
                  deterministic_official_state('fishnet99'))
    assert convert(tmp_path / 'fishnet99_ckpt.tar',
                   tmp_path / 'fishnet99.pth').returncode == 0
    import cv2
    image = tmp_path / 'image.png'
    cv2.imwrite(
        str(image),
        np.random.default_rng(0).integers(0, 256, (80, 96, 3), dtype=np.uint8))
    out = run([
        DEMO / 'classify.py', REPO / 'configs' / 'fishnet99_8xb32_in1k.py',
        tmp_path / 'fishnet99.pth', image
    ], tmp_path, monkeypatch, capsys)
    lines = out.strip().splitlines()
    ranked = [
        line for line in lines
        if line.strip()[:2] in ('1.', '2.', '3.', '4.', '5.')
    ]
    assert len(ranked) == 5
    scores = [float(line.rsplit(': ', 1)[1]) for line in ranked]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= s <= 1 for s in scores)
    from mmpretrain.datasets.categories import IMAGENET_CATEGORIES
    assert ranked[0].split('. ', 1)[1].rsplit(' (', 1)[0] in \
        IMAGENET_CATEGORIES


def test_the_drawn_images_box_ap_counts_every_drawn_image(tmp_path):
    """image_demo.py --ann-file: AP over exactly the drawn images, an image
    without any detection included (its objects are missed)."""
    import json

    from conftest import load_tool
    from pycocotools.coco import COCO
    demo = load_tool(DEMO / 'image_demo.py')
    ann = tmp_path / 'ann.json'
    ann.write_text(
        json.dumps(
            dict(
                images=[
                    dict(id=i, file_name=f'{i}.png', height=64, width=64)
                    for i in (1, 2, 3)
                ],
                categories=[
                    dict(id=7, name='disc'),
                    dict(id=9, name='square')
                ],
                annotations=[
                    dict(
                        id=i,
                        image_id=i,
                        category_id=7 if i == 1 else 9,
                        bbox=[10, 10, 20, 20],
                        area=400,
                        iscrowd=0) for i in (1, 2, 3)
                ])))
    coco = COCO(str(ann))
    classes = ['square', 'disc']
    assert demo.category_ids(coco, classes) == {7: 1, 9: 0}
    category_of = {0: 9, 1: 7}
    found = InstanceData(
        bboxes=torch.tensor([[10., 10., 30., 30.]]),
        scores=torch.tensor([0.9]),
        labels=torch.tensor([1]))
    detections = demo.coco_detections(found, 1, category_of)
    assert detections == [
        dict(
            image_id=1,
            category_id=7,
            bbox=[10.0, 10.0, 20.0, 20.0],
            score=pytest.approx(0.9))
    ]
    assert demo.box_ap(coco, detections, [1])['AP50'] == pytest.approx(1)
    # image 2 drawn too: its square is found nowhere, so the squares' AP is
    # 0 beside the discs' 1
    assert demo.box_ap(coco, detections, [1, 2])['AP50'] == pytest.approx(0.5)
    assert demo.image_id(coco, '/somewhere/3.png') == 3
