from setuptools import find_packages, setup


def read_version():
    namespace = {}
    with open('mmfishnet/version.py') as f:
        exec(f.read(), namespace)
    return namespace['__version__']


setup(
    name='mmfishnet',
    version=read_version(),
    description='FishNet backbone for MMDetection and MMPretrain',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmfishnet', 'mmfishnet.*']),
    python_requires='>=3.8',
    # torch and mmcv are not listed: their builds depend on the machine
    # (CUDA version, compiled ops); see README.md, "Installation".
    install_requires=['mmengine>=0.10.0,<1.0'],
    extras_require={
        'det': ['mmdet>=3.0.0,<3.4'],
        'cls': ['mmpretrain>=1.0.0,<1.3'],
        'tests': ['pytest', 'pycocotools'],
    },
    license='Apache-2.0',
)
