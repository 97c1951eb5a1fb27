"""A read-only index over all valid snapshots, for rules that look beyond one host."""
from collections import defaultdict

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.versions import VersionError, known_version, parse_version


def sms_ini_section(snapshot):
    """The [SMS] section of a client's SMS.INI as the snapshot holds it ({} when there is none)."""
    return ((snapshot.get("sms_ini") or {}).get("sections") or {}).get("SMS") or {}


def site_of(snapshot):
    """Return the site code a snapshot belongs to (None when unknown)."""
    kind = snapshot.get("kind")
    if kind == "site_server":
        return (snapshot.get("sms") or {}).get("site_code")
    if kind == "site_database":
        return snapshot.get("site_code")
    return snapshot.get("site_code") or sms_ini_section(snapshot).get("SiteCode")


def client_smsid(snapshot):
    """Return a client's SMS Unique ID from its SMS.INI, or None."""
    return sms_ini_section(snapshot).get("SMS Unique ID")


def is_sms_2(sms):
    """Tell whether a site server's ``sms`` section says SMS 2.0 is installed."""
    return bool(sms.get("full_version"))


def sms_release(sms):
    """The SMS release of a site server's ``sms`` section, labelled from its build (data/versions.yml): ``2.0`` (a full
    version), ``1.2`` (build 786 or later), ``1.1`` (builds above 631 and below 786: 682, 692), ``1.0`` (631 or lower,
    KB Q132710), or ``unknown build X``."""
    if is_sms_2(sms):
        return "2.0"
    try:
        build = parse_version(str(sms.get("setup_version") or ""), "sms_build")
    except VersionError:
        return "unknown build %s" % (sms.get("setup_version") or "(none)")
    if build >= known_version("sms_1_2"):
        return "1.2"
    return "1.1" if build > known_version("sms_1_0_max") else "1.0"


def sp4_gap(sms):
    """Why a site that stays on SMS 1.x is not SMS 1.2 Service Pack 4 or later (None when it is)."""
    release = sms_release(sms)
    if release.startswith("unknown"):
        return "cannot tell its SMS version (%s)" % release
    if release != "1.2":
        return "runs SMS %s (build %s), older than SMS 1.2" % (release, sms.get("setup_version"))
    try:
        if parse_version(sms.get("csdver") or "", "service_pack") < known_version("sms_1_2_sp4"):
            return "runs SMS 1.2 %s" % (sms.get("csdver") or "without a service pack (no CSDVER.SMS)")
    except VersionError as exc:
        return "cannot tell its SMS service pack: %s" % exc
    return None


def client_digest(snapshot):
    """The part of a client's snapshot that rules about other hosts read (its site, SMS Unique ID and OS family),
    in the snapshot's own shape: the assessment keeps this of each client in the Fleet, not the whole snapshot."""
    sms_section = sms_ini_section(snapshot)
    digest = {"kind": snapshot.get("kind"), "os": {"family": (snapshot.get("os") or {}).get("family")},
              "sms_ini": {"sections": {"SMS": {k: sms_section[k] for k in ("SiteCode", "SMS Unique ID") if k in sms_section}}}}
    if "site_code" in snapshot:
        digest["site_code"] = snapshot["site_code"]
    return digest


class Fleet:
    """Site servers by site code and clients by site, built once per assessment."""

    def __init__(self, snapshots):
        self.site_servers = {}
        self.clients_by_site = defaultdict(list)
        self.clients = []
        for host, snapshot in snapshots.items():
            self._add(host, snapshot)

    def _add(self, host, snapshot):
        kind = snapshot.get("kind")
        if kind == "site_server" and "site" in snapshot.get("roles", []):
            self.site_servers[snapshot["sms"]["site_code"].upper()] = (host, snapshot)
        elif kind == "client":
            self.clients.append((host, snapshot))
            site = site_of(snapshot)
            if site:
                self.clients_by_site[site.upper()].append((host, snapshot))

    def site_server(self, site_code):
        """Return ``(host, snapshot)`` of a site's server, or None."""
        return self.site_servers.get((site_code or "").upper())

    def site_clients(self, site_code):
        """Return the ``(host, snapshot)`` clients assigned to a site."""
        return self.clients_by_site.get((site_code or "").upper(), [])

    # Parent/child relations, from each site server's ``sms.parent_site_code`` and ``sms.site_role``.
    def sms(self, site_code):
        """The ``sms`` section of a site's server snapshot ({} when the site is not in the fleet)."""
        server = self.site_server(site_code)
        return (server[1].get("sms") or {}) if server else {}

    def parent(self, site_code):
        """The parent site code of a site (None for the central site or an unknown site)."""
        return (self.sms(site_code).get("parent_site_code") or "").upper() or None

    def role(self, site_code):
        """``central``, ``primary`` or ``secondary`` (None when unknown)."""
        return self.sms(site_code).get("site_role")

    def children(self, site_code):
        """The site codes whose server names ``site_code`` as its parent, sorted."""
        code = (site_code or "").upper()
        return sorted(child for child in self.site_servers if self.parent(child) == code)

    def listed_children(self, site_code):
        """Child site codes the site's own site control file lists (ADDRESS destinations other than its parent)."""
        server = self.site_server(site_code)
        entries = ((server[1].get("site_control") or {}).get("child_sites") or []) if server else []
        return [(c.get("site_code") or "").upper() for c in entries if c.get("site_code")]

    def all_children(self, site_code):
        """The site's children as the inventory's site servers name it their parent and as its site control file lists
        them (a child missing from the inventory is still named), sorted."""
        return sorted(set(self.children(site_code)) | set(self.listed_children(site_code)))

    def on_sms_2(self, site_code):
        """True when the site's server already runs SMS 2.0."""
        return is_sms_2(self.sms(site_code))
