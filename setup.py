"""Maps the concern folders (models/, agents/, tools/, retrieval/) under the one ``vlkit`` name.

pyproject.toml holds all metadata; this file only computes the package list so that a new
sub-package in any folder installs without editing a hand-kept list.
"""

from setuptools import find_packages, setup

CONCERNS = {
    "vision": "vlkit.vision",
    "documents": "vlkit.documents",
    "models": "vlkit.models",
    "agents": "vlkit.agents",
    "tools": "vlkit.tools",
    "retrieval": "vlkit.retrieval",
    "serve": "vlkit.serve",
}

packages = find_packages(include=["vlkit", "vlkit.*"])
package_dir = {"vlkit": "vlkit"}
for folder, name in CONCERNS.items():
    package_dir[name] = folder
    packages.append(name)
    packages += [f"{name}.{sub}" for sub in find_packages(folder)]

setup(packages=packages, package_dir=package_dir)
