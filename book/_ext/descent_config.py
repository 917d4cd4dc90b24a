"""Where the course lives: the one place that turns ``_config.yml``'s ``repository.url`` into the
repository's owner and name, the website's address, and the Binder and Colab addresses.

Everything that needs one of them calls :func:`addresses` (through :func:`from_config_yml` outside
a build, :func:`from_sphinx` inside one): the Jupyter editions' install cell, the print notes under
the sliders, the autograder's install line, the tests. A fork changes ``repository.url`` (and, if
its site is not on GitHub Pages, ``html.baseurl``) and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
#: The branch that holds the student editions, which the student site's launch buttons open
#: (the full site's open ``repository.branch``).
STUDENT_BRANCH = "notebooks-student"


@dataclass(frozen=True)
class Addresses:
    """The repository and the addresses made from it."""

    repository_url: str  #: https://github.com/OWNER/NAME
    owner: str
    name: str
    branch: str  #: the branch the launch buttons open (the Jupyter editions)
    site_url: str  #: the website, ending with a slash
    binderhub_url: str

    def binder(self, docname: str) -> str:
        """The Binder address that opens the edition of ``docname`` (the launch button's)."""
        return f"{self.binderhub_url}/v2/gh/{self.owner}/{self.name}/{self.branch}?labpath={docname}.ipynb"

    def page(self, docname: str) -> str:
        """The website's address of a page."""
        return f"{self.site_url}{docname}.html"


def addresses(repository_url: str, branch: str = "main", baseurl: str = "",
              binderhub_url: str = "") -> Addresses:
    """The course's addresses from ``repository.url`` (and ``repository.branch``, ``html.baseurl``,
    ``launch_buttons.binderhub_url`` of ``_config.yml``). The site is ``baseurl`` when set, else
    the repository's GitHub Pages address, ``https://<owner>.github.io/<name>/``."""
    parts = urlsplit(repository_url or "")
    path = parts.path.strip("/").removesuffix(".git").split("/")
    if parts.scheme != "https" or parts.netloc != "github.com" or len(path) != 2 or not all(path):
        raise ValueError(f"repository.url of _config.yml must be https://github.com/OWNER/NAME, "
                         f"not {repository_url!r}")
    owner, name = path
    site = baseurl.rstrip("/") + "/" if baseurl else f"https://{owner.lower()}.github.io/{name}/"
    return Addresses(f"https://github.com/{owner}/{name}", owner, name, branch or "main", site,
                     (binderhub_url or "https://mybinder.org").rstrip("/"))


def from_config_yml(path: Path = ROOT / "_config.yml") -> Addresses:
    """:func:`addresses` from a Jupyter Book ``_config.yml``."""
    import yaml

    config = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    repository = config.get("repository") or {}
    sphinx_config = (config.get("sphinx") or {}).get("config") or {}
    return addresses(repository.get("url", ""), repository.get("branch", "main"),
                     sphinx_config.get("descent_site_url") or (config.get("html") or {}).get("baseurl", ""),
                     (config.get("launch_buttons") or {}).get("binderhub_url", ""))


def from_sphinx(config: object) -> Addresses:
    """:func:`addresses` from the Sphinx configuration Jupyter Book made of ``_config.yml``
    (``repository`` and ``launch_buttons`` become theme options, ``html.baseurl`` html_baseurl)."""
    theme = getattr(config, "html_theme_options", {}) or {}
    return addresses(theme.get("repository_url", ""), theme.get("repository_branch", "main"),
                     getattr(config, "descent_site_url", "") or getattr(config, "html_baseurl", "") or "",
                     (theme.get("launch_buttons") or {}).get("binderhub_url", ""))
