"""`host_of` and `domain_of` remember short URLs' hosts (every inbox POST asks for
its actor's and key's about ten times); the answers must stay urlsplit's own."""

from __future__ import annotations

import random
from urllib.parse import urlsplit

import pytest

from activitypub import vocab
from activitypub.vocab import domain_of, host_of

URLS = [
    "https://Mastodon.Example/users/Alice#main-key",
    "https://m.example:8443/users/a",
    "http://user:pw@M.example:80/x?y#z",
    "https://[2001:DB8::1]:443/users/a",
    "https://m.example",
    "/users/a",
    "mailto:a@m.example",
    "",
]


@pytest.mark.parametrize("url", URLS)
def test_hosts_are_urlsplits_asked_once_or_twice(url):
    for _ in range(2):  # the second answer comes from the cache
        assert host_of(url) == urlsplit(url).netloc.lower()
        assert domain_of(url) == (urlsplit(url).hostname or "").lower()


def test_a_long_url_is_answered_but_not_remembered():
    # Given a URL longer than any the cache keeps
    url = "https://M.example/" + "a" * vocab.CACHED_URL_LENGTH
    before = vocab._remembered_hosts.cache_info().currsize

    # When its host is asked for
    host = host_of(url)

    # Then the answer is right and nothing was remembered
    assert host == "m.example"
    assert vocab._remembered_hosts.cache_info().currsize == before


def test_an_unreadable_url_raises_every_time():
    for _ in range(2):
        with pytest.raises(ValueError):
            host_of("http://[x")


def test_the_cache_is_bounded():
    assert vocab._remembered_hosts.cache_info().maxsize == vocab.HOSTS_CACHED
    for n in range(vocab.HOSTS_CACHED + 10):
        host_of(f"https://h{n}.example/users/a")
    assert vocab._remembered_hosts.cache_info().currsize == vocab.HOSTS_CACHED


def test_plain_urls_read_without_urlsplit_agree_with_it():
    # Given many URLs made of the characters that decide how urlsplit reads a host
    rng = random.Random(3)
    heads = ["http://", "https://", "HTTP://", "https:/", "http:///", " http://", "ftp://", ""]
    alphabet = "aZ09.-:/?#@[]%\\ \t\n\x00é~!_"
    urls = [rng.choice(heads) + "".join(rng.choices(alphabet, k=rng.randint(0, 12)))
            for _ in range(20_000)]

    # Then the hosts read from each (directly or by urlsplit) are urlsplit's own
    for url in urls:
        try:
            expected = urlsplit(url).netloc.lower(), (urlsplit(url).hostname or "").lower()
        except ValueError:
            with pytest.raises(ValueError):
                vocab._split_hosts(url)
            continue
        assert vocab._split_hosts(url) == expected, url
