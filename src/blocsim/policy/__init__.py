"""The union's rules as data: blocs, memberships, CET, duty pool, preferences and measures.

Public names (imported lazily):

- :class:`PolicyState`, :class:`Bloc`, :class:`Preference`, :class:`Membership`, measures
  (:class:`TariffChange`, :class:`ImportBan`, :class:`TransitRestriction`,
  :class:`OriginEnforcement`, :class:`NonTariffMeasure`, :class:`ProductivityShock`);
- :func:`applied_tariff` / :func:`resolve_tariff` (one pair) and
  :func:`applied_tariff_array` / :func:`applied_tariff_table` (whole tables);
- :func:`check_rules` / :func:`validate_state` (the union's own rules);
- :func:`load_policy_file`, :func:`rates_from_tariffs`, :func:`bloc_from_spec`, :func:`state_at`.
"""

from blocsim._lazy import lazy_exports

_PUBLIC = {
    **{
        name: "blocsim.policy.model"
        for name in (
            "PolicyState", "Bloc", "PairBorder", "Preference", "Membership", "Exemption", "PoolPeriod", "TariffChange",
            "ImportBan", "TransitRestriction", "OriginEnforcement", "NonTariffMeasure", "ProductivityShock",
        )
    },
    **{
        name: "blocsim.policy.tariffs"
        for name in ("applied_tariff", "resolve_tariff", "applied_tariff_array", "applied_tariff_table", "RULES")
    },
    "check_rules": "blocsim.policy.rules",
    "validate_state": "blocsim.policy.rules",
    "RuleViolation": "blocsim.policy.rules",
    **{
        name: "blocsim.policy.build"
        for name in (
            "RateTables", "rates_from_tariffs", "load_policy_file", "policy_library_names", "bloc_from_spec",
            "preference_from_spec", "state_at", "nearest_year",
        )
    },
}
__all__ = list(_PUBLIC)
__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
