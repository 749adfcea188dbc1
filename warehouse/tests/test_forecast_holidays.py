"""Chinese public holidays and promotion uplift per product in the pure forecasting core (issue 18)."""

import datetime

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warehouse import forecast_eval as fe
from warehouse.forecasting import (
    CODE_ON,
    CODE_POST,
    CODE_PRE,
    CODE_WORKDAY,
    ForecastInput,
    china_day_codes,
    country_day_codes,
    forecast,
    holiday_code,
    holiday_days,
)

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _day(first, codes, date):
    return codes[(date - first).days]


def test_calendar_knows_breaks_weekends_inside_them_and_adjusted_working_days():
    first = datetime.date(2025, 1, 1)
    codes = china_day_codes(first, 800)
    sf_on = holiday_code("spring_festival", CODE_ON)
    assert _day(first, codes, datetime.date(2026, 2, 17)) == sf_on  # 春节 2026
    assert _day(first, codes, datetime.date(2026, 2, 21)) == sf_on  # a Saturday inside the break
    assert _day(first, codes, datetime.date(2026, 2, 15)) == sf_on  # the Sunday it starts on
    assert _day(first, codes, datetime.date(2026, 2, 14)) == CODE_WORKDAY  # 调休: Saturday worked
    assert _day(first, codes, datetime.date(2026, 2, 28)) == CODE_WORKDAY
    assert _day(first, codes, datetime.date(2026, 2, 10)) == holiday_code("spring_festival", CODE_PRE)
    assert _day(first, codes, datetime.date(2026, 2, 25)) == holiday_code("spring_festival", CODE_POST)
    assert _day(first, codes, datetime.date(2025, 1, 29)) == sf_on  # 春节 2025
    # 国庆 2025 holds 中秋 (Oct 6): one National Day break from Oct 1 to Oct 8, Oct 11 worked
    for d in range(1, 9):
        assert _day(first, codes, datetime.date(2025, 10, d)) == holiday_code("national_day", CODE_ON)
    assert _day(first, codes, datetime.date(2025, 10, 11)) == CODE_WORKDAY
    assert _day(first, codes, datetime.date(2025, 5, 31)) == holiday_code("dragon_boat", CODE_ON)
    assert _day(first, codes, datetime.date(2025, 4, 4)) == holiday_code("qingming", CODE_ON)
    assert _day(first, codes, datetime.date(2025, 3, 12)) == 0
    on_codes = [holiday_code(k, CODE_ON) for k in ("new_year", "spring_festival", "qingming", "labour_day",
                                                    "dragon_boat", "mid_autumn", "national_day")]
    assert (holiday_days(codes) == np.isin(codes, on_codes)).all()
    # a future year comes from the statutory rule: 春节 2030 falls on Feb 3
    far = china_day_codes(datetime.date(2030, 1, 1), 60)
    assert far[33] == sf_on


def _promo_panel(rng, n, T, h, uplift, promo_share, level=20.0):
    promo = rng.random((n, T)) < promo_share
    y = rng.poisson(level * np.where(promo, uplift[:, None], 1.0)).astype(float)
    fut = np.zeros((n, h), bool)
    fut[:, 3] = True
    return y, promo, fut


@SETTINGS
@given(st.floats(1.2, 4.0), st.floats(1.3, 3.0), st.integers(0, 2**31))
def test_a_product_with_enough_promoted_days_is_forecast_at_its_own_uplift(own, category, seed):
    """One product among its category's forty, whose uplifts scatter around the category's: with ~40
    promoted days of its own its forecast on a promoted day follows its uplift, not the category's
    (pooling over-forecast promoted products 2-4x)."""
    rng = np.random.default_rng(seed)
    n, T, h = 41, 400, 14
    uplift = np.maximum(category * np.exp(rng.normal(0, 0.25, n)), 1.0)
    uplift[0] = own
    y, promo, fut = _promo_panel(rng, n, T, h, uplift, 0.1)
    res = forecast(ForecastInput(y, promo, fut, np.zeros(n, int)), h)
    ratio = res.mean[0, 3] / res.mean[0, 4:].mean()
    assert res.uplift[0] == pytest.approx(max(own, 1.0), rel=0.15)
    assert ratio == pytest.approx(own, rel=0.2)
    assert np.median(res.uplift[1:]) == pytest.approx(np.median(uplift[1:]), rel=0.1)


def test_a_product_without_promoted_history_gets_its_categorys_uplift():
    rng = np.random.default_rng(4)
    n, T, h = 80, 300, 7
    group = np.repeat([0, 1], n // 2)
    uplift = np.where(group == 0, 1.6, 3.2)
    y, promo, fut = _promo_panel(rng, n, T, h, uplift, 0.08)
    promo[[0, n // 2]] = False  # never promoted, one in each category
    y[[0, n // 2]] = rng.poisson(20.0, (2, T))
    res = forecast(ForecastInput(y, promo, fut, group), h)
    assert res.uplift[0] == pytest.approx(1.6, rel=0.08)
    assert res.uplift[n // 2] == pytest.approx(3.2, rel=0.08)
    # and the few-days product sits between its own and its category's: shrinkage by evidence
    few = np.random.default_rng(9)
    y2, promo2, fut2 = _promo_panel(few, n, T, h, np.where(group == 0, 1.6, 3.2), 0.08)
    promo2[0] = False
    promo2[0, [50, 120]] = True
    y2[0] = few.poisson(20.0 * np.where(promo2[0], 4.0, 1.0))
    res2 = forecast(ForecastInput(y2, promo2, fut2, group), h)
    assert 1.6 <= res2.uplift[0] < 3.5


def _holiday_panel(seed=2, n=60, last=datetime.date(2026, 3, 1), T=730, h=28, sf=(0.4, 1.0), pre=(1.6, 1.0)):
    """Two categories: group 0 empties at Spring Festival (with a stock-up before), group 1 does not."""
    rng = np.random.default_rng(seed)
    first = last - datetime.timedelta(days=T - 1)
    codes = china_day_codes(first, T)
    group = np.repeat([0, 1], n // 2)
    mult = np.ones((2, T))
    for g in (0, 1):
        mult[g, codes == holiday_code("spring_festival", CODE_ON)] = sf[g]
        mult[g, codes == holiday_code("spring_festival", CODE_PRE)] = pre[g]
    y = rng.poisson(15.0 * mult[group]).astype(float)
    return first, codes, group, y, T - h, h


def test_holiday_days_are_forecast_lower_for_a_category_that_empties_at_spring_festival():
    first, codes, group, y, T, h = _holiday_panel()
    res = forecast(ForecastInput(y[:, :T], group=group, start_weekday=first.weekday(), day_code=codes), h)
    fc = codes[T:]
    on = fc == holiday_code("spring_festival", CODE_ON)
    pre = fc == holiday_code("spring_festival", CODE_PRE)
    ordinary = fc == 0
    assert on.any() and pre.any() and ordinary.any()
    g0, g1 = group == 0, group == 1
    assert res.mean[g0][:, on].mean() < 0.55 * res.mean[g0][:, ordinary].mean()
    assert res.mean[g0][:, on].mean() == pytest.approx(0.4 * 15, rel=0.15)
    assert res.mean[g0][:, pre].mean() == pytest.approx(1.6 * 15, rel=0.15)
    assert res.mean[g1][:, on].mean() == pytest.approx(res.mean[g1][:, ordinary].mean(), rel=0.1)
    # the level is not dragged down by last year's empty week
    assert res.level[g0].mean() == pytest.approx(15.0, rel=0.1)
    # without the calendar the holiday is invisible
    flat = forecast(ForecastInput(y[:, :T], group=group, start_weekday=first.weekday()), h)
    assert flat.mean[g0][:, on].mean() > 0.8 * flat.mean[g0][:, ordinary].mean()


def test_a_holiday_at_the_start_of_a_series_is_measured_against_its_later_level():
    """The history opens on last year's Spring Festival: no level of its own yet, measured later."""
    first, codes, group, y, T, h = _holiday_panel(T=400)
    res = forecast(ForecastInput(y[:, :T], group=group, start_weekday=first.weekday(), day_code=codes), h)
    on = codes[T:] == holiday_code("spring_festival", CODE_ON)
    assert res.mean[group == 0][:, on].mean() == pytest.approx(0.4 * 15, rel=0.2)


def test_day_code_must_cover_history_and_horizon():
    with pytest.raises(ValueError):
        forecast(ForecastInput(np.ones((2, 10)), day_code=np.zeros(10, int)), 3)
    res = forecast(ForecastInput(np.ones((2, 0)), day_code=np.zeros(3, int)), 3)
    assert res.mean.shape == (2, 3) and np.isfinite(res.mean).all()


def test_generator_flags_holidays_and_applies_them():
    p = fe.generate_panel(4000, 400, horizon=28, seed=3)
    assert p.holiday is not None and p.holiday[-28:].any()  # the held-out month holds 春节 2026
    assert p.first_date + datetime.timedelta(days=399) == datetime.date(2026, 3, 1)
    assert p.first_date.weekday() == p.start_weekday
    sf = p.day_code == holiday_code("spring_festival", CODE_ON)
    pre = p.day_code == holiday_code("spring_festival", CODE_PRE)
    ordinary = p.day_code == 0
    live = p.launch == 0
    level = p.truth[live][:, ordinary].mean()
    assert 0.3 < p.truth[live][:, sf].mean() / level < 0.65
    assert 1.2 < p.truth[live][:, pre].mean() / level < 1.9
    # promotion uplift differs per series within a category
    seg = fe.holdout_segments(p, 28)
    assert seg["holiday_days"].any() and seg["promotion_days"].any()


def test_a_csv_panel_gets_the_chinese_calendar_unless_told_otherwise():
    import io

    from warehouse.forecast_panel import load_csv

    days = [datetime.date(2025, 1, 20) + datetime.timedelta(days=i) for i in range(25)]
    text = "date,series,quantity\n" + "".join(f"{d.isoformat()},白菜,5\n" for d in days)
    panel, _ = load_csv(io.StringIO(text))
    assert panel.holiday[(datetime.date(2025, 1, 29) - days[0]).days]  # 春节
    assert not panel.holiday[0]
    assert panel.holiday.sum() == 8  # Jan 28 - Feb 4
    assert panel.day_code[(datetime.date(2025, 1, 26) - days[0]).days] == CODE_WORKDAY  # a Sunday worked
    res = forecast(fe.forecast_input(panel, 5), 5)
    assert res.day_effect.shape == (1, 5)
    plain, _ = load_csv(io.StringIO(text), calendar="none")
    assert not plain.holiday.any() and not plain.day_code.any()
    upper, _ = load_csv(io.StringIO(text), calendar="CN")  # China's own calendar, 调休 included
    assert (upper.day_code == panel.day_code).all()
    with pytest.raises(ValueError, match="calendar"):
        load_csv(io.StringIO(text), calendar="xx")
    us, _ = load_csv(io.StringIO(text), calendar="us")  # a panel from elsewhere: its own holidays
    assert us.holiday.sum() == 1 and us.holiday[0]  # Martin Luther King Jr. Day, Jan 20 2025


def test_another_countrys_holidays_have_codes_for_the_day_and_the_days_around_it():
    first = datetime.date(2025, 1, 1)
    codes = country_day_codes("US", first, 600)
    july4 = _day(first, codes, datetime.date(2025, 7, 4))
    assert (july4 - 1) % 3 == CODE_ON
    assert _day(first, codes, datetime.date(2025, 7, 3)) == july4 - CODE_ON + CODE_PRE
    assert _day(first, codes, datetime.date(2025, 7, 5)) == july4 - CODE_ON + CODE_POST
    assert _day(first, codes, datetime.date(2026, 7, 3)) == july4  # 4 July 2026 is a Saturday: observed Friday
    thanksgiving = _day(first, codes, datetime.date(2025, 11, 27))
    assert _day(first, codes, datetime.date(2025, 11, 28)) == thanksgiving - CODE_ON + CODE_POST
    assert _day(first, codes, datetime.date(2025, 12, 24)) == _day(first, codes, datetime.date(2025, 12, 25)) - 1
    assert _day(first, codes, datetime.date(2025, 3, 12)) == 0
    # eleven federal holidays in 2025; to Aug 24 2026 six, 4 July counted on the day and on its observed Friday
    assert holiday_days(codes).sum() == 11 + 7
    assert set(np.unique(codes[holiday_days(codes)])) == {c for c in np.unique(codes) if c and (c - 1) % 3 == CODE_ON}
