"""Datasets that can be exported. A module registers its lists here; the export job does the rest.

A dataset gives its columns and a function ``rows(user, filters)`` returning the rows the user may
see (it must scope its query through ``apps.core.access``); the job runs it as the requester.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError


@dataclass(frozen=True)
class Dataset:
    key: str
    label: str
    view_permission: str
    columns: tuple[str, ...]
    rows: Callable[..., Iterable[tuple]]


_DATASETS: dict[str, Dataset] = {}


def register(dataset: Dataset) -> Dataset:
    _DATASETS[dataset.key] = dataset
    return dataset


def get_dataset(key: str) -> Dataset:
    try:
        return _DATASETS[key]
    except KeyError:
        raise ValidationError("没有这个可导出的数据集。", code="unknown_dataset") from None


def label_of(key: str) -> str:
    """The dataset's Chinese name for lists of jobs; the key when no module offers it any more."""
    dataset = _DATASETS.get(key)
    return dataset.label if dataset else key


def all_datasets() -> list[Dataset]:
    return list(_DATASETS.values())
