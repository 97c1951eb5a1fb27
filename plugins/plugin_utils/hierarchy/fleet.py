"""A read-only index over all valid snapshots, for rules that look beyond one host."""
from collections import defaultdict


def site_of(snapshot):
    """Return the site code a snapshot belongs to (None when unknown)."""
    kind = snapshot.get("kind")
    if kind == "site_server":
        return (snapshot.get("sms") or {}).get("site_code")
    if kind == "site_database":
        return snapshot.get("site_code")
    sms_section = ((snapshot.get("sms_ini") or {}).get("sections") or {}).get("SMS") or {}
    return snapshot.get("site_code") or sms_section.get("SiteCode")


def client_smsid(snapshot):
    """Return a client's SMS Unique ID from its SMS.INI, or None."""
    sms_section = ((snapshot.get("sms_ini") or {}).get("sections") or {}).get("SMS") or {}
    return sms_section.get("SMS Unique ID")


def is_sms_2(sms):
    """Tell whether a site server's ``sms`` section says SMS 2.0 is installed."""
    return bool(sms.get("full_version"))


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
