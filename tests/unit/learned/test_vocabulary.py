"""``learned.unfamiliar`` on the shipped encoder's vocabulary: English reads familiar, other languages not."""

from __future__ import annotations

import pytest

from tiergate.learned.tokens import Tokenizer
from tiergate.learned.vocabulary import MIN_LETTERS, MIN_SCRIPT_LETTERS, Vocabulary
from tiergate.learned.weights import Weights

ASKS = {
    "en": "The service deadlocks under load when two workers take the account and ledger locks in opposite order; "
    "redesign the locking so transfers are atomic.",
    "de": "Der Dienst blockiert unter Last, wenn zwei Worker die Konto- und Hauptbuchsperren in umgekehrter "
    "Reihenfolge erwerben; gestalte das Sperren so um, dass Überweisungen atomar sind.",
    "es": "El servicio se bloquea bajo carga cuando dos trabajadores adquieren los bloqueos de cuenta y libro mayor "
    "en orden opuesto; rediseña el bloqueo para que las transferencias sean atómicas.",
    "ru": "Сервис зависает под нагрузкой, когда два воркера захватывают блокировки счета и журнала в "
    "противоположном порядке; переработай блокировки, чтобы переводы были атомарными.",
    "zh": "在负载下，两个工作线程以相反顺序获取账户锁和账本锁时服务会死锁；"  # noqa: RUF001 (Chinese punctuation)
    "请重新设计加锁方式，使转账是原子的且不会死锁。",  # noqa: RUF001
}


@pytest.fixture(scope="module")
def vocabulary(weights: Weights) -> Vocabulary:
    return Tokenizer.parse(weights.tokenizer_json, max_tokens=128).vocabulary


def test_english_reads_familiar_and_other_languages_do_not(vocabulary: Vocabulary) -> None:
    read = {language: round(vocabulary.unfamiliar(text), 2) for language, text in ASKS.items()}
    assert read["en"] < 0.2
    assert all(read[language] >= 0.75 for language in ("de", "es", "ru", "zh")), read


def test_code_words_and_short_texts_do_not_count(vocabulary: Vocabulary) -> None:
    """Identifiers and inline code are unfamiliar in every language; a terse ask is too little to tell."""
    code = "rename `getUserById` and `fetchAccountLedgerRows` in handleSubmitForm, then update useAuthContext"
    assert vocabulary.unfamiliar(code) == pytest.approx(0.0, abs=0.15)
    assert vocabulary.unfamiliar("nullish coalescing pls") == 0.0, f"fewer than {MIN_LETTERS} letters"
    assert vocabulary.unfamiliar("") == 0.0


def test_a_short_question_in_another_script_is_read_unfamiliar(vocabulary: Vocabulary) -> None:
    """Fewer than ``MIN_LETTERS`` letters in Hangul, kana or Cyrillic is still another language: no English
    jargon is written in them, and a short question in them is short in letters. A Latin-script word with an
    accent ("café") or a lone Greek letter in an English ask is not."""
    for ask in ("이 코드 안전한가요?", "ロックなしで大丈夫？", "Так можно без мьютекса?", "这样线程安全吗"):  # noqa: RUF001
        assert vocabulary.unfamiliar(ask) >= 0.75, ask
    # the prose of an ask over pasted code or an attached file: the markers are no language's words
    assert vocabulary.unfamiliar("ロックなしで大丈夫？\n\n [code] ") == 1.0  # noqa: RUF001
    assert vocabulary.unfamiliar("Так можно без мьютекса? [file src/worker.cpp]") == 1.0
    assert vocabulary.unfamiliar("rename café to cafe") == 0.0
    assert vocabulary.unfamiliar("why is σ so big") == 0.0, f"one letter, fewer than {MIN_SCRIPT_LETTERS}"  # noqa: RUF001


@pytest.mark.parametrize(
    "ask",
    [
        "Add docstrings to the pydantic validators and dataclasses",
        "Prettify the tsconfig and eslintrc jsons, sort keys alphabetically and keep the comments",
        "Dockerize the FastAPI microservice; memoize the websocket middleware's auth lookups",
    ],
)
def test_english_full_of_tool_names_reads_familiar(vocabulary: Vocabulary, ask: str) -> None:
    """Its tool and library names are not in the vocabulary, its function words say what language it is."""
    assert vocabulary.unfamiliar(ask) == 0.0


@pytest.mark.parametrize(
    "ask",
    [  # each with a word English writes too: "do", "was", "will", "is", "on"
        "Refatore a função do módulo de autenticação para usar o padrão do repositório e adicione testes.",
        "Was passiert hier, wenn der Dienst unter Last blockiert? Ich will die Sperren so umgestalten, dass "
        "Überweisungen atomar sind.",
        "On doit refactoriser le module d'authentification; on veut que les erreurs soient gérées partout.",
        "De service loopt vast onder belasting. Wat is hier het probleem en hoe kan ik dit oplossen? Het was "
        "eerder sneller.",
    ],
)
def test_words_other_languages_share_with_english_do_not_make_them_english(vocabulary: Vocabulary, ask: str) -> None:
    assert vocabulary.unfamiliar(ask) >= 0.6


def test_accents_are_read_as_the_encoder_reads_them(vocabulary: Vocabulary) -> None:
    """The encoder strips accents: an English word written with one is still a word it knows."""
    plain = "cafe naive resume facade role cooperative regime"
    accented = "café naïve résumé façade rôle coöperative régime"
    assert vocabulary.unfamiliar(accented) == vocabulary.unfamiliar(plain) < 0.2
