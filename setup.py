from setuptools import find_packages, setup


def read_version():
    namespace = {}
    with open('mmfishnet/version.py') as f:
        exec(f.read(), namespace)
    return namespace['__version__']


setup(
    name='mmfishnet',
    version=read_version(),
    description='FishNet backbone for MMDetection, MMPretrain and '
    'MMSegmentation',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmfishnet', 'mmfishnet.*']),
    package_data={'mmfishnet.converters': ['official_reference/*.json']},
    python_requires='>=3.9',
    # The supported range, tested at both ends: torch 2.1 + numpy 1.26 to
    # torch 2.14 + numpy 2.x (mmfishnet/utils/stack.py checks it on import).
    # mmcv is an extra, as in mmdet: its build depends on the machine (CUDA
    # version, compiled ops); see README.md, "Installation".
    install_requires=[
        'torch>=2.1', 'numpy>=1.26', 'mmengine>=0.10.0,<1.0', 'packaging'
    ],
    extras_require={
        'mim': ['mmcv>=2.1.0,<2.2.0'],
        'det': ['mmdet>=3.3.0,<3.4'],
        'cls': ['mmpretrain>=1.2.0,<1.3'],
        # mmseg.utils imports ftfy and regex without declaring them
        'seg': ['mmsegmentation>=1.2.0,<1.3', 'ftfy', 'regex'],
        # ONNX export (torch >= 2.5) and torch-free inference
        'deploy': ['onnx>=1.17', 'onnxscript', 'onnxruntime>=1.20'],
        'tests': ['pytest', 'pycocotools'],
    },
    license='Apache-2.0',
)
