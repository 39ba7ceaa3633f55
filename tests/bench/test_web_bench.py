"""`brushwork bench serve`: a real server process, killed and restarted mid-run, loses no job."""

from __future__ import annotations

import json

from brushwork.bench.serve import multipart
from brushwork.cli import main

from conftest import needs_hed


def test_multipart_encoding_is_parsed_by_the_server_side_parser():
    from python_multipart import parse_form

    body, headers = multipart({"size": "64"}, [("content", "a.png", b"\x89PNG\r\n--not-a-boundary")])
    fields, files = {}, {}
    parse_form({"Content-Type": headers["Content-Type"].encode(), "Content-Length": str(len(body)).encode()}, __import__("io").BytesIO(body),
               lambda f: fields.__setitem__(f.field_name.decode(), f.value.decode()),
               lambda f: files.__setitem__(f.field_name.decode(), (f.file_name.decode(), f.file_object.getvalue())))
    assert fields == {"size": "64"} and files == {"content": ("a.png", b"\x89PNG\r\n--not-a-boundary")}


@needs_hed
def test_load_check_with_a_crash_in_the_middle_loses_nothing(capsys):
    argv = ["bench", "serve", "--clients", "3", "--jobs-per-client", "2", "--queue-size", "2", "--size", "32",
            "--iterations", "40", "--worker-nice", "0", "--timeout", "120", "--json"]
    assert main(argv) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    r = json.loads(out[0])
    assert r["submitted"] == 12 and r["accepted"] + r["rejected_429"] + r["other_errors"] == 12
    assert r["rejected_429"] > 0 and r["other_errors"] == 0  # 3 clients at once overfill a queue of 2
    assert r["lost"] == 0 and r["failed"] == 0
    assert r["completed"] + r["interrupted"] + r["cancelled"] == r["accepted"]
    assert r["killed_with"]["running"] >= 1 and r["interrupted"] >= 1  # the crash hit a running job, which was recorded
    assert r["status_ms"]["n"] > 0 and r["idle_status_ms"]["n"] == 100
