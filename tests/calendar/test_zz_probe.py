from tests.calendar.helpers import text_of


def test_probe(as_admin, calendar_2026, freeze_clock):
    freeze_clock("2026-11-25T10:00+08:00")
    for url, name in [("/calendar/2026", "year"), ("/calendar/2027/2", "month"),
                      ("/calendar/deadline?start=2026-09-30&days=3", "deadline"),
                      ("/calendar/time-limits", "limits"), ("/calendar/import", "import"),
                      ("/calendar/time-limits/categories/1", "cat")]:
        r = as_admin.get(url)
        open(f"/tmp/probe/{name}.html", "w").write(text_of(r))
    r = as_admin.post("/calendar/2027/2/mark", data={"first": "2027-02-08", "last": "", "kind": "holiday",
                                                    "name": ""})
    open("/tmp/probe/mark_err.html", "w").write(text_of(r))
