"""lab_seed carries what the site upgrade acts on: 1.2 services whose program lies in the 1.2 tree, the 1.2 shares."""
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases import site_services

from .test_lab_seed import render


def test_the_stand_in_services_are_1_2_services_on_a_site_server_only():
    exe = render("lab_seed_service_exe", lab_seed_kind="site_server")
    assert exe == "C:\\SMS\\SITE.SRV\\X86.BIN\\SmsLabService.exe"
    assert site_services.is_1_2_program('"%s" SMS_EXECUTIVE' % exe)
    assert render("lab_seed_service_dir", lab_seed_kind="site_server") in render("lab_seed_plan_dirs", lab_seed_kind="site_server")
    client = render("lab_seed_service_exe", lab_seed_kind="client")
    assert not site_services.is_1_2_program('"%s" Wuser32' % client)
    names = [s["name"] for s in render("lab_seed_site_services")]
    assert sorted(names) == sorted(site_services.site_data()["services"]["names"])


def test_the_seeded_shares_are_the_ones_the_site_upgrade_removes_with_real_permissions():
    shares = render("lab_seed_site_shares")
    assert [s["name"] for s in shares if site_services.is_1_2_share(s["name"])] == ["SMS_SHRC", "SMS_SHR", "SMS_SITE"]
    by_name = {s["name"]: s for s in shares}
    assert by_name["SMS_SHRC"]["read"] == ["S-1-1-0"] and by_name["SMS_SHR"]["full"] == ["S-1-5-32-544", "S-1-1-0"]
