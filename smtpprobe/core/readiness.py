"""Gmail readiness: what a local pass cannot show, for Gmail's "Send mail as".

Pure. With "Send mail as" the SMTP client is Google's server, which connects
from outside Japan; a probe from the user's own connection in Japan may pass
while Gmail is refused by the provider's geo-IP filter (seed 000: Sakura's
国外IPアドレスフィルタ answering MAIL FROM with "550 5.7.1 … Command rejected").
"""

from __future__ import annotations

import shlex

from smtpprobe.core.profile import Profile
from smtpprobe.core.record import record
from smtpprobe.core.rules import Text
from smtpprobe.core.transcript import Origin

__all__ = ["GmailReadiness", "Reason", "gmail_readiness"]

# Used when the profile does not say how to turn its geo-IP filter off
# (its ``geo_ip_filter_setting``).
_GENERIC_SETTING = Text(
    en="In your provider's control panel, turn off the filter that refuses connections from "
    "IP addresses outside Japan (often called a foreign-IP or 国外IPアドレス filter).",
    ja="プロバイダーのコントロールパネルで、国外の IP アドレスからの接続を拒否する設定"
    "（国外IPアドレスフィルタ など）を無効にしてください。",
)
_ABROAD = Text(
    en="Gmail's 'Send mail as' connects to your provider from Google's own servers, mostly "
    "outside Japan, not from your computer: a pass from your own connection in Japan does not "
    "show what Gmail will see.",
    ja="Gmail の「他のメールアドレス」は、お使いのパソコンではなく Google のサーバー（主に国外）"
    "からプロバイダーに接続します。日本国内の自分の回線から成功しても、Gmail からも成功するとは"
    "限りません。",
)
_ALIAS = Text(
    en="In Gmail (Settings → Accounts → Send mail as → edit info), uncheck 'Treat as an alias'.",
    ja="Gmail の［設定］→［アカウント］→［名前］→［情報を編集］で「エイリアスとして扱います」の"
    "チェックを外してください。",
)


@record
class Reason:
    """One reason or step, with a short stable id."""

    id: str
    text: Text


@record
class GmailReadiness:
    """Whether Gmail's servers can be expected to send through this account.

    ``ready`` is True when nothing stands in the way, False when something
    certainly does, and None when a local pass cannot tell (a geo-IP filter
    that only a route outside Japan can show).
    """

    ready: bool | None
    geo_ip_filter: bool
    origin_country: str | None
    reasons: tuple[Reason, ...]
    test_command: str


def _test_command(
    profile: Profile | None, host: str, port: int | None = None, ca_file: str | None = None
) -> str:
    name = profile.name if profile else ""
    target = f"{name} --host {host}".strip() if name else f"--host {host}"
    # The port checked, and the CA file it was checked with: without them the command
    # compared another port (a red-team round: the profile's 587 for a check of 41249).
    if port is not None:
        target += f" --port {port}"
    if ca_file:
        target += f" --ca-file {shlex.quote(ca_file)}"
    return (
        "ssh -D 1080 -N you@host-abroad   # a SOCKS proxy whose exit is outside Japan\n"
        f"smtpprobe compare {target} --user YOU --route direct "
        "--route proxy:socks5h://127.0.0.1:1080"
    )


def gmail_readiness(
    *,
    category: str,
    profile: Profile | None,
    host: str,
    origin: Origin | None,
    authenticated: bool = True,
    dns_refusal: str | None = None,
    dns_unchecked: str | None = None,
    port: int | None = None,
    ca_file: str | None = None,
) -> GmailReadiness:
    """Judge readiness for Gmail from the verdict's category, the profile and the origin.

    A pass without AUTH (``--no-auth``) shows nothing about the login Gmail will
    make, so it is never "ready"; nor is one whose DNS authentication says Gmail will
    refuse the mail (``dns_refusal``: that verdict's category).
    """
    geo = bool(profile and profile.geo_ip_filter)
    country = origin.country if origin else None
    setting = (profile.geo_ip_filter_setting if profile else None) or _GENERIC_SETTING
    reasons: list[Reason] = []
    ready: bool | None
    if category == "ok" and dns_refusal is not None:
        ready = False
        reasons.append(
            Reason(
                "dns-auth-refused",
                Text(
                    en=f"The server accepted, but its domain's DNS authentication says Gmail "
                    f"will refuse this mail ({dns_refusal}): fix the DNS first (see the "
                    "dns-auth finding).",
                    ja=f"サーバーは受け付けましたが、ドメインの DNS 認証の確認では Gmail がこの"
                    f"メールを拒否します（{dns_refusal}）。先に DNS を直してください（dns-auth "
                    "の指摘を参照）。",
                ),
            )
        )
    elif category == "ok" and not authenticated:
        ready = None
        reasons.append(
            Reason(
                "login-not-tested",
                Text(
                    en="The probe ran without AUTH (--no-auth), so it did not test the login "
                    "Gmail will make: probe again with your user name and password.",
                    ja="今回は認証なし（--no-auth）で確認したため、Gmail が行うログインは"
                    "確認できていません。ユーザー名とパスワードを指定してもう一度確認して"
                    "ください。",
                ),
            )
        )
    elif category == "ok" and profile is None and (country is None or country == "JP"):
        # No profile: nothing is known of a filter on connections from abroad, and a pass
        # from here cannot show what Gmail's servers (abroad) will meet.
        ready = None
        reasons.append(
            Reason(
                "provider-unknown",
                Text(
                    en="The probe passed from here, but smtpprobe has no profile for this "
                    "provider and so knows nothing of a filter on connections from abroad, "
                    "where Gmail's servers are: probe through a route abroad (smtpprobe "
                    "compare --route proxy:URL) or check the provider's settings.",
                    ja="この場所からの確認は成功しましたが、このプロバイダーのプロファイルが"
                    "ないため、国外からの接続を拒否する設定があるかどうかは分かりません"
                    "（Gmail のサーバーは国外にあります）。国外の経路から確認する"
                    "（smtpprobe compare --route proxy:URL）か、プロバイダーの設定を確認して"
                    "ください。",
                ),
            )
        )
    elif category == "ok":
        if not geo:
            ready = True
            reasons.append(
                Reason(
                    "no-geo-filter",
                    Text(
                        en="The probe passed and the profile knows of no geo-IP filter at this "
                        "provider, so Gmail's servers abroad should be accepted too.",
                        ja="確認は成功し、このプロバイダーには国外からの接続を拒否する設定は"
                        "知られていないため、国外の Gmail のサーバーからも受け付けられる"
                        "見込みです。",
                    ),
                )
            )
        elif country is not None and country != "JP":
            ready = True
            reasons.append(
                Reason(
                    "passed-from-abroad",
                    Text(
                        en=f"The probe passed from an address in {country}, outside Japan, as "
                        "Gmail's servers would connect: the geo-IP filter lets foreign clients in.",
                        ja=f"国外（{country}）のアドレスからの確認が成功しました。Gmail の"
                        "サーバーと同じく国外からの接続が受け付けられています。",
                    ),
                )
            )
        else:
            ready = None
            reasons.append(Reason("gmail-connects-from-abroad", _ABROAD))
            reasons.append(
                Reason(
                    "geo-filter-possible",
                    Text(
                        en="This provider can refuse clients outside Japan (geo-IP filter). "
                        "This probe came from "
                        f"{'Japan' if country == 'JP' else 'an address of unknown country'}, "
                        "so it cannot show whether Gmail is refused. If the filter is on, "
                        "Gmail's login or sending is refused (Sakura, for one, answers "
                        "'550 5.7.1 … Command rejected').",
                        ja="このプロバイダーには国外からの接続を拒否する設定があります。今回の"
                        f"確認は{'日本国内' if country == 'JP' else '国が不明なアドレス'}から"
                        "行ったため、Gmail が拒否されるかどうかは分かりません。設定が有効だと "
                        "Gmail のログインまたは送信が拒否されます（たとえばさくらでは"
                        "「550 5.7.1 … Command rejected」が返ります）。",
                    ),
                )
            )
            reasons.append(Reason("turn-filter-off", setting))
    else:
        ready = False
        if category == "client-ip-rejected" and geo:
            reasons.append(Reason("gmail-connects-from-abroad", _ABROAD))
            reasons.append(Reason("turn-filter-off", setting))
        else:
            reasons.append(
                Reason(
                    "fix-verdict-first",
                    Text(
                        en=f"The probe itself was refused ({category}): fix that first (see the "
                        "verdict); Gmail would be refused the same way.",
                        ja=f"確認そのものが失敗しています（{category}）。まず判定の対処を行って"
                        "ください。Gmail からも同じ理由で拒否されます。",
                    ),
                )
            )
    if dns_unchecked is not None and category == "ok":
        # "ready" speaks of the login Gmail will make; whether Gmail's recipients accept
        # mail from a custom domain is its DNS authentication, which was not looked at.
        reasons.append(
            Reason(
                "dns-auth-not-checked",
                Text(
                    en=f"The SPF, DKIM and DMARC of {dns_unchecked} were not checked in this "
                    f"run: check them with 'smtpprobe dns {dns_unchecked} --server {host}'.",
                    ja=f"{dns_unchecked} の SPF・DKIM・DMARC はこの実行では確認していません。"
                    f"「smtpprobe dns {dns_unchecked} --server {host}」で確認してください。",
                ),
            )
        )
    reasons.append(Reason("uncheck-alias", _ALIAS))
    if ready is not True:
        reasons.append(
            Reason(
                "test-from-abroad",
                Text(
                    en="To test for real, probe through a route outside Japan: open a SOCKS "
                    "proxy with 'ssh -D 1080 -N you@host-abroad' and add "
                    "'--proxy socks5h://127.0.0.1:1080' (or compare both routes).",
                    ja="確実に確かめるには国外の経路から確認してください。"
                    "「ssh -D 1080 -N you@host-abroad」で SOCKS プロキシを開き、"
                    "「--proxy socks5h://127.0.0.1:1080」を付けて実行します（compare で両方の"
                    "経路を比べることもできます）。",
                ),
            )
        )
    return GmailReadiness(
        ready=ready,
        geo_ip_filter=geo,
        origin_country=country,
        reasons=tuple(reasons),
        test_command=_test_command(profile, host, port, ca_file),
    )
