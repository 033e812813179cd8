"""The broad-sector -> ICIO mapping and the ICIO elasticity table used by the library on dataset v2."""

from __future__ import annotations

import pytest

from blocsim.data import load_dataset
from blocsim.data.elasticities import get_elasticities
from blocsim.data.sector_map import BROAD_TO_ICIO, ICIO_THETA, expand_sectors


def test_icio_theta_is_the_v2_sectors_table_and_covers_every_sector() -> None:
    sectors = load_dataset("eaeu").sectors
    assert get_elasticities("caliendo_parro_2015_icio") == pytest.approx(dict(zip(sectors["sector"], sectors["cp_elasticity"])))


def test_the_broad_sectors_partition_the_icio_sectors() -> None:
    codes = list(load_dataset("eaeu").sectors["sector"])
    mapped = [code for fine in BROAD_TO_ICIO.values() for code in fine]
    assert sorted(mapped) == sorted(codes) and len(mapped) == len(set(mapped)) == 28


def test_expand_sectors_keeps_known_names_and_expands_only_what_the_dataset_lacks() -> None:
    icio = list(ICIO_THETA)
    assert expand_sectors(["agri_food", "C19"], icio) == ("A01", "A02", "A03", "C10T12", "C19")
    assert expand_sectors(["agri_food"], ["agri_food", "other"]) == ("agri_food",)  # dataset 2016v1
    assert expand_sectors(["agrifood", "mining_energy"], ["B06"]) == ("agrifood", "B06")  # unknown kept for the error


def test_policy_library_exemptions_and_border_sectors_follow_the_dataset_sectors() -> None:
    """The EAEU definition names broad sectors; on v2 they become ICIO sectors (fails without the mapping)."""
    from blocsim.policy.build import bloc_from_spec, load_policy_file, rates_from_tariffs

    rates = rates_from_tariffs(load_dataset("eaeu").tariffs, 2014, cet_members=["RUS"])
    bloc = bloc_from_spec(load_policy_file("eaeu").bloc, rates)
    assert set(bloc.border_sectors) == set(ICIO_THETA) - {"D35T98"}
    armenia = {e.sector for e in bloc.exemptions if e.country == "ARM"}
    assert armenia == set(BROAD_TO_ICIO["agri_food"])
