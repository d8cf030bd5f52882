"""``ReportingHuggingFaceConnector``: a Hub upload whose model card and metadata carry the multi-seed report.

Its own module because importing the Hub connector imports ``huggingface_hub``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rl_framework.sweep.publish import REPORT_KEY, add_report_to_card, add_report_to_metadata
from rl_framework.util.connector.bundle import METADATA_FILE, AgentBundle
from rl_framework.util.connector.huggingface import HuggingFaceConnector
from rl_framework.util.connector.huggingface_card import CONFIG_FILE, MODEL_CARD_FILE
from rl_framework.util.connector.huggingface_config import HuggingFaceUploadConfig
from rl_framework.util.files import atomic_write_text


class ReportingHuggingFaceConnector(HuggingFaceConnector):
    """A ``HuggingFaceConnector`` that adds a multi-seed report to ``metadata.json``, ``config.json`` and the card.

    :param report: the multi-seed report.
    :param kwargs: ``HuggingFaceConnector``'s arguments.
    """

    def __init__(self, report: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.report = report

    def _files_to_upload(self, bundle: AgentBundle, config: HuggingFaceUploadConfig) -> dict[str, Path]:
        add_report_to_metadata(bundle.folder / METADATA_FILE, self.report)
        config_file = bundle.folder / CONFIG_FILE
        if config_file.is_file():
            content = json.loads(config_file.read_text(encoding="utf-8"))
            content.setdefault("rl_framework", {})[REPORT_KEY] = self.report
            atomic_write_text(config_file, json.dumps(content, indent=2))
        add_report_to_card(bundle.folder / MODEL_CARD_FILE, self.report)
        return super()._files_to_upload(bundle, config)
