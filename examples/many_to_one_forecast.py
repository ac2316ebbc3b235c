"""Many to one: forecast tomorrow's maximum temperature in Seattle from the last 30 days of weather.

Data: daily weather in Seattle, 2012-2015 (NOAA, via vega-datasets). Each day is a vector of six
numbers: maximum and minimum temperature, log(1 + precipitation), wind, and the season as
(sin, cos) of the day of the year. An LSTM reads a window of 30 days (many inputs) and a linear
layer on its last hidden state predicts the next day's maximum (one output), trained with the mean
squared error on 2012-2014 and tested on every day of 2015.

The number to beat is *persistence*, "tomorrow will be like today", which is hard to beat for
next-day temperatures; the model is also compared with it day by day in the plot.

    python examples/many_to_one_forecast.py               # well under a minute
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
from common import figure, minibatches, output, parser, plot_curves, progress, save, setup
from data import seattle_weather

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import nn


def daily_features(days: dict) -> np.ndarray:
    """(days, 6): temp_max, temp_min, log1p(precipitation), wind, sin and cos of the day of the year."""
    day_of_year = np.array([datetime.strptime(date, "%Y/%m/%d").timetuple().tm_yday for date in days["date"]])
    season = 2 * np.pi * day_of_year / 365.25
    return np.stack(
        [
            days["temp_max"],
            days["temp_min"],
            np.log1p(days["precipitation"]),
            days["wind"],
            np.sin(season),
            np.cos(season),
        ],
        axis=1,
    )


class Forecaster(nn.Module):
    """LSTM over the window -> Linear on the last hidden state -> tomorrow's (standardised) temp_max."""

    def __init__(self, features: int, hidden: int = 16):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, window: tg.Tensor) -> tg.Tensor:
        _, (h_n, _) = self.lstm(window)  # window: (B, 30, features); h_n: (1, B, H)
        return self.head(h_n[-1]).reshape(-1)  # (B,)


def main(argv: list[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0], epochs=12, lr=0.005, batch_size=32)
    p.add_argument("--window", type=int, default=30, help="days the model reads")
    p.add_argument("--hidden", type=int, default=16)
    args = p.parse_args(argv)
    rng = setup(args)

    days = seattle_weather()
    features = daily_features(days)
    temp_max = days["temp_max"]
    # Sample i: the window of days i-window .. i-1, and its target, day i's maximum temperature.
    targets = np.arange(args.window, len(temp_max))
    in_2015 = np.array([days["date"][i].startswith("2015") for i in targets])
    train, test = targets[~in_2015], targets[in_2015]
    if args.quick:
        train, args.epochs = train[-200:], min(args.epochs, 3)
    first_train_day = train.min() - args.window
    seen = features[first_train_day : train.max()]  # the days the training windows read
    mean, std = seen.mean(axis=0), seen.std(axis=0)
    standardised = ((features - mean) / std).astype(np.float32)

    def windows(indices: np.ndarray) -> tg.Tensor:
        return tg.Tensor(np.stack([standardised[i - args.window : i] for i in indices]))  # (B, window, 6)

    def scaled(indices: np.ndarray) -> np.ndarray:  # targets in the same units as the input temp_max
        return ((temp_max[indices] - mean[0]) / std[0]).astype(np.float32)

    def predict(indices: np.ndarray) -> np.ndarray:  # in degrees C
        with tg.no_grad():
            return model(windows(indices)).numpy() * std[0] + mean[0]

    def rmse(indices: np.ndarray, predictions: np.ndarray) -> float:
        return float(np.sqrt(np.mean((predictions - temp_max[indices]) ** 2)))

    model = Forecaster(features.shape[1], hidden=args.hidden)
    optimizer = tg.optim.Adam(model.parameters(), lr=args.lr)
    history = {"train RMSE": [], "test RMSE": []}
    for _ in progress(range(args.epochs), desc="epochs"):
        total = 0.0
        for batch in minibatches(len(train), args.batch_size, rng):
            loss = F.mse_loss(model(windows(train[batch])), scaled(train[batch]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        history["train RMSE"].append(float(np.sqrt(total / len(train)) * std[0]))  # in degrees C
        history["test RMSE"].append(rmse(test, predict(test)))

    forecast = predict(test)
    model_rmse, persistence_rmse = rmse(test, forecast), rmse(test, temp_max[test - 1])
    print(
        f"forecast: test RMSE over the {len(test)} days of 2015: LSTM {model_rmse:.2f} C, "
        f"persistence (tomorrow = today) {persistence_rmse:.2f} C"
    )

    fig, (ax_loss, ax_days) = figure(columns=2, width=5.5)
    plot_curves(ax_loss, history, "epoch", "RMSE (degrees C)", "many to one: 30 days -> tomorrow's max")
    ax_loss.axhline(persistence_rmse, color="grey", ls="--", label="persistence, test")
    ax_loss.legend()
    shown = slice(0, 120)  # January to April 2015
    day = np.arange(len(test))[shown]
    ax_days.plot(day, temp_max[test][shown], color="black", lw=1.5, label="observed")
    ax_days.plot(
        day, temp_max[test - 1][shown], color="grey", lw=1, ls="--", label=f"persistence ({persistence_rmse:.2f})"
    )
    ax_days.plot(day, forecast[shown], color="C3", lw=1.2, label=f"LSTM ({model_rmse:.2f})")
    ax_days.set(xlabel="day of 2015", ylabel="maximum temperature (C)", title="next-day forecasts, early 2015")
    ax_days.legend()
    plot = save(fig, output(args, "many_to_one_forecast.png"))
    return {
        "train_loss": history["train RMSE"],
        "test_rmse": model_rmse,
        "persistence_rmse": persistence_rmse,
        "plot": plot,
    }


if __name__ == "__main__":
    main()
