"""What several routes' verdicts mean together: a pure function over plain data.

``smtpprobe compare`` runs the same check over several routes (direct, each
``--source-address``, each ``--proxy``). When they disagree the disagreement
is the diagnosis: refused only from outside Japan is a geo-IP filter; refused
only from one address is that address being block-listed or not allowed.
"""

from __future__ import annotations

from collections.abc import Sequence

from smtpprobe.core.record import record
from smtpprobe.core.rules import Text

__all__ = ["Conclusion", "RouteOutcome", "conclude", "exit_code_of"]

_ADDRESS_CATEGORIES = frozenset({"client-ip-rejected", "blocklisted", "relay-denied"})


@record
class RouteOutcome:
    """One route's result, reduced to what the comparison needs."""

    route: str
    category: str
    stage: str | None
    exit_code: int  # 0 accepted, 1 refused, 3 incomplete
    address: str | None = None  # the public address the server saw, else the local one
    country: str | None = None
    no_auth: bool = False  # probed without AUTH (--no-auth): acceptance means relaying


@record
class Conclusion:
    """The comparison's finding: a stable ``kind`` and a sentence in both languages."""

    kind: str
    text: Text
    routes: tuple[str, ...] = ()  # the routes the finding is about


def exit_code_of(outcomes: Sequence[RouteOutcome]) -> int:
    """3 when any route could not complete, else 1 when any was refused, else 0."""
    codes = {o.exit_code for o in outcomes}
    if 3 in codes:
        return 3
    return 1 if 1 in codes else 0


def _names(outcomes: Sequence[RouteOutcome]) -> str:
    return ", ".join(o.route for o in outcomes)


def _where(o: RouteOutcome) -> str:
    return o.address or o.route


def conclude(outcomes: Sequence[RouteOutcome]) -> Conclusion:
    """Compare the routes' outcomes and say what a disagreement means."""
    done = [o for o in outcomes if o.exit_code in (0, 1)]
    broken = [o for o in outcomes if o.exit_code not in (0, 1)]
    accepted = [o for o in done if o.exit_code == 0]
    refused = [o for o in done if o.exit_code == 1]
    suffix = _incomplete_suffix(broken)
    if done and all(o.no_auth for o in done) and accepted:
        # Accepted without AUTH has two readings: an IP-authorised relay or an open relay;
        # routes that disagree tell them apart (issue 7, item 3).
        return _with(_relay(accepted, refused), suffix)
    if not done:
        return Conclusion(
            "no-route-completed",
            Text(
                en="No route completed the dialogue, so nothing can be compared; see each "
                "route's verdict.",
                ja="どの経路でも確認を最後まで行えなかったため、比較できません。各経路の判定を"
                "確認してください。",
            ),
            tuple(o.route for o in broken),
        )
    if not refused:
        return _with(
            Conclusion(
                "all-accepted",
                Text(
                    en=f"Accepted from every route ({_names(accepted)}): no filter by network "
                    "or address shows from these routes.",
                    ja=f"すべての経路（{_names(accepted)}）で受け付けられました。これらの経路"
                    "からは、接続元のネットワークやアドレスによる制限は見られません。",
                ),
                tuple(o.route for o in accepted),
            ),
            suffix,
        )
    if not accepted:
        categories = sorted({o.category for o in refused})
        if len(categories) == 1:
            text = Text(
                en=f"Refused the same way from every route ({categories[0]}): the cause does not "
                "depend on where the probe comes from; see the verdict.",
                ja=f"すべての経路で同じ理由（{categories[0]}）で拒否されました。原因は接続元に"
                "よるものではありません。判定の内容を確認してください。",
            )
        else:
            text = Text(
                en=f"Refused from every route, for different reasons ({', '.join(categories)}); "
                "see each route's verdict.",
                ja=f"すべての経路で拒否されましたが、理由が異なります（{', '.join(categories)}）。"
                "各経路の判定を確認してください。",
            )
        return _with(Conclusion("all-refused", text, tuple(o.route for o in refused)), suffix)
    return _with(_disagreement(accepted, refused), suffix)


def _relay(accepted: list[RouteOutcome], refused: list[RouteOutcome]) -> Conclusion:
    ok = ", ".join(f"{o.route} ({_where(o)})" for o in accepted)
    if not refused:
        return Conclusion(
            "relay-from-every-route",
            Text(
                en=f"Relayed to an outside recipient without AUTH from every route ({ok}). "
                "Unless the server has a reason to trust every one of these addresses (its "
                "own network, an IP allow-list), it is an OPEN RELAY: add a route from an "
                "unrelated network to be sure, and tell its administrator.",
                ja=f"すべての経路（{ok}）から、認証なしで外部の宛先への中継が受け付けられ"
                "ました。サーバーがこれらすべてのアドレスを信頼する理由（自社ネットワーク、"
                "IP アドレスの許可リスト）がない限り、オープンリレーの状態です。無関係な"
                "ネットワークからの経路も加えて確かめ、管理者に連絡してください。",
            ),
            tuple(o.route for o in accepted),
        )
    bad = ", ".join(f"{o.route} ({_where(o)}: {o.category})" for o in refused)
    return Conclusion(
        "ip-authorised-relay",
        Text(
            en=f"Relayed without AUTH only from {ok}, and refused from {bad}: the server "
            "trusts certain client addresses (an IP-authorised relay, such as Google "
            "Workspace's smtp-relay.gmail.com for registered addresses), not anyone: this is "
            "not an open relay from these routes.",
            ja=f"認証なしの中継は {ok} からだけ受け付けられ、{bad} からは拒否されました。"
            "サーバーは特定の接続元アドレスだけを信頼しています（IP アドレスで許可する中継。"
            "例: 登録したアドレスからの Google Workspace の smtp-relay.gmail.com）。これらの"
            "経路から見る限り、オープンリレーではありません。",
        ),
        tuple(o.route for o in accepted),
    )


# Refusals that say nothing of the network: a busy server, a rate or session limit, a
# temporary failure, greylisting. The routes run at the same time, so a server that takes
# one session per account refuses whichever route came second (found by a red-team server).
_MOMENTARY = frozenset({"server-busy", "rate-limited", "temporary-failure", "greylisted"})


def _disagreement(accepted: list[RouteOutcome], refused: list[RouteOutcome]) -> Conclusion:
    refused_routes = tuple(o.route for o in refused)
    momentary = [o for o in refused if o.category in _MOMENTARY]
    if momentary:
        names = ", ".join(f"{o.route} ({o.category})" for o in momentary)
        return Conclusion(
            "momentary-refusal",
            Text(
                en=f"Refused from {names} but accepted from {_names(accepted)}: a busy "
                "server, a rate or session limit or a temporary failure says nothing about the "
                "network. The routes ran at the same time, and a server that allows one session "
                "per account refuses whichever comes second; run the refused route again on "
                "its own before reading a filter into it.",
                ja=f"{names} からは拒否され、{_names(accepted)} からは受け付けられました。"
                "サーバーの混雑、送信量や同時接続の制限、一時的な障害による拒否は、接続元の"
                "ネットワークについて何も示しません。経路は同時に確認しており、アカウントごとに"
                "同時接続を 1 つに制限するサーバーは後から来た経路を拒否します。フィルターと"
                "判断する前に、拒否された経路だけでもう一度確認してください。",
            ),
            tuple(o.route for o in momentary),
        )
    ok_countries = {o.country for o in accepted}
    bad_countries = {o.country for o in refused}
    if None not in ok_countries | bad_countries and not ok_countries & bad_countries:
        ok, bad = ", ".join(sorted(ok_countries)), ", ".join(sorted(bad_countries))  # type: ignore[arg-type]
        if ok_countries == {"JP"}:
            en_where, ja_where = "only from outside Japan", "国外からの接続だけ"
        else:
            en_where, ja_where = f"only from {bad}", f"{bad} からの接続だけ"
        return Conclusion(
            "geo-ip-filter",
            Text(
                en=f"Refused {en_where} ({bad}: {_names(refused)}) and accepted from {ok}: the "
                "server filters clients by the country of their IP address (a geo-IP filter, "
                "such as Sakura's 国外IPアドレスフィルタ). Gmail's servers connect from abroad and "
                "will be refused too until the filter is turned off.",
                ja=f"{ja_where}が拒否され（{bad}: {_names(refused)}）、{ok} からは受け付けられ"
                "ました。サーバーが接続元 IP アドレスの国で制限しています（さくらの「国外IP"
                "アドレスフィルタ」などの国外IPフィルタ）。Gmail は国外のサーバーから接続するため、"
                "この設定を無効にするまで Gmail からも拒否されます。",
            ),
            refused_routes,
        )
    categories = {o.category for o in refused}
    if categories <= _ADDRESS_CATEGORIES:
        where = _where
        if {_where(o) for o in refused} & {_where(o) for o in accepted}:
            # The same egress address both ways (e.g. one NAT): the routes differ below it.
            def where(o: RouteOutcome) -> str:
                return o.route

        addresses = ", ".join(dict.fromkeys(where(o) for o in refused))
        ok_addresses = ", ".join(dict.fromkeys(where(o) for o in accepted))
        if len(refused) == 1:
            en_lead = f"Refused only from {addresses} (route {refused[0].route})"
            ja_lead = f"{addresses}（経路 {refused[0].route}）からだけ拒否され"
        else:
            en_lead = f"Refused from {addresses} ({_names(refused)})"
            ja_lead = f"{addresses}（{_names(refused)}）から拒否され"
        return Conclusion(
            "address-filter",
            Text(
                en=f"{en_lead} and accepted from {ok_addresses}, with the same settings: the "
                "server judges the client's address. That address is block-listed or outside "
                "the addresses the server allows (a source-address or geo-IP filter). Compare "
                "with the country of each address; Gmail is refused the same way if its "
                "servers fall outside what is allowed.",
                ja=f"{ja_lead}、{ok_addresses} からは同じ設定で受け付けられました。サーバーは"
                "接続元のアドレスで判断しています。そのアドレスがブロックリストに載っているか、"
                "許可された範囲（接続元アドレスや国による制限）の外にあります。Gmail のサーバーが"
                "その範囲外なら Gmail からも同じように拒否されます。",
            ),
            refused_routes,
        )
    return Conclusion(
        "route-dependent",
        Text(
            en=f"The routes disagree: refused from {_names(refused)} "
            f"({', '.join(sorted(categories))}) but accepted from {_names(accepted)}. The server "
            "treats these networks differently; see each route's verdict.",
            ja=f"経路によって結果が異なります。{_names(refused)} からは拒否され"
            f"（{', '.join(sorted(categories))}）、{_names(accepted)} からは受け付けられました。"
            "サーバーが接続元のネットワークによって扱いを変えています。各経路の判定を確認して"
            "ください。",
        ),
        refused_routes,
    )


def _incomplete_suffix(broken: list[RouteOutcome]) -> Text | None:
    if not broken:
        return None
    names = ", ".join(f"{o.route} ({o.category})" for o in broken)
    return Text(
        en=f" Not compared: {names} could not complete the dialogue.",
        ja=f" 比較から除外: {names} は確認を最後まで行えませんでした。",
    )


def _with(conclusion: Conclusion, suffix: Text | None) -> Conclusion:
    if suffix is None:
        return conclusion
    text = Text(en=conclusion.text.en + suffix.en, ja=conclusion.text.ja + suffix.ja)
    return Conclusion(conclusion.kind, text, conclusion.routes)
