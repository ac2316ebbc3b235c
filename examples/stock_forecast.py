"""Many to one and many to many: tomorrow's return of AAPL, MSFT and IBM from the last 20 trading days.

Data: the daily adjusted closing prices of three large stocks, 2000-03-01 to 2013-03-01 (Quandl
WIKI prices, public domain, read from the bokeh_sampledata wheel). The model never sees a price:
it reads daily *log returns*, r_t = 100 log(P_t / P_{t-1}) percent, because prices wander
without a fixed level (a model fitted to 2005's prices knows nothing about 2012's) while returns
keep roughly the same scale. Trained on 2000-2009, tested on every day from 2010 on.

An LSTM reads a window of 20 days (three returns a day) and a Linear layer on its state predicts
the next day's three returns. ``--mode many-to-one`` trains on the last step's prediction only;
``--mode many-to-many`` (the default) trains on the prediction at *every* step of the window (step
t predicts day t + 1), which gives 20 times as many training targets for the same windows. Either
way it is tested on the last step's prediction, the forecast for the day after the window.

``--target size`` predicts the size of tomorrow's move, |r_{t+1}|, instead of its value.

What this can and cannot do (no trading tips given): daily returns of large stocks are very
nearly unpredictable from their own past, so the honest expectation for ``--target return`` is
a model no better than the historical mean return, and the script measures exactly that against
it, against persistence ("tomorrow's return = today's") and against the mean of the window's
own 20 days. The size of a move is another matter: calm and turbulent days cluster (volatility
clustering), so ``--target size`` has something to learn, and the window's mean is the baseline
that knows about clustering too. Nothing here accounts for trading costs, and 2010-2013 is one
short stretch of one market.

    python examples/stock_forecast.py                   # returns, many to many, under a minute
    python examples/stock_forecast.py --target size     # the size of tomorrow's move
"""

from __future__ import annotations

import numpy as np
from common import figure, minibatches, output, parser, plot_curves, progress, save, setup
from lecture_data_a import daily_stocks, save_checkpoint

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import nn

TICKERS = ("AAPL", "MSFT", "IBM")
TEST_FROM = "2010-01-01"


class ReturnForecaster(nn.Module):
    """LSTM over the window -> Linear at every step: the next day's value for each stock."""

    def __init__(self, stocks: int, hidden: int = 32):
        super().__init__()
        self.lstm = nn.LSTM(stocks, hidden, batch_first=True, fused=True)
        self.head = nn.Linear(hidden, stocks)

    def forward(self, window: tg.Tensor) -> tg.Tensor:
        states, _ = self.lstm(window)  # (B, W, stocks) -> (B, W, H)
        return self.head(states)  # (B, W, stocks): step t's forecast of day t + 1


def main(argv: list[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0], epochs=10, lr=0.003, batch_size=64)
    p.add_argument("--mode", choices=["many-to-many", "many-to-one"], default="many-to-many")
    p.add_argument("--target", choices=["return", "size"], default="return", help="tomorrow's return, or |return|")
    p.add_argument("--window", type=int, default=20, help="trading days the model reads")
    p.add_argument("--hidden", type=int, default=32)
    args = p.parse_args(argv)
    rng = setup(args)

    dates, prices = daily_stocks(TICKERS)
    returns = 100 * np.diff(np.log(prices), axis=0)  # (days - 1, stocks), percent; returns[i] is on dates[i + 1]
    return_dates = dates[1:]
    targets = returns if args.target == "return" else np.abs(returns)
    # Sample t: the window of returns t - window + 1 .. t, and the targets of days t - window + 2 .. t + 1.
    last_days = np.arange(args.window - 1, len(returns) - 1)
    in_test = np.array([return_dates[t + 1] >= TEST_FROM for t in last_days])
    train, test = last_days[~in_test], last_days[in_test]
    if args.quick:
        train, test, args.epochs = train[-300:], test[:100], min(args.epochs, 3)
    seen = returns[: train.max() + 2]  # every return the training windows and targets touch
    mean, std = seen.mean(axis=0), seen.std(axis=0)
    # one scale for all three stocks' targets, so the loss times target_std**2 is a mean squared error in percent
    target_mean, target_std = targets[: train.max() + 2].mean(axis=0), targets[: train.max() + 2].std()
    inputs = ((returns - mean) / std).astype(np.float32)
    scaled_targets = ((targets - target_mean) / target_std).astype(np.float32)

    def window_of(t: np.ndarray) -> tg.Tensor:
        return tg.Tensor(np.stack([inputs[i - args.window + 1 : i + 1] for i in t]))  # (B, window, stocks)

    def targets_of(t: np.ndarray) -> np.ndarray:
        return np.stack([scaled_targets[i - args.window + 2 : i + 2] for i in t])  # (B, window, stocks)

    def forecast(t: np.ndarray) -> np.ndarray:
        """Each window's last-step forecast of the next day, in percent: (len(t), stocks)."""
        with tg.no_grad():
            scaled = np.concatenate([model(window_of(t[b])).numpy()[:, -1] for b in minibatches(len(t), 512)])
        return scaled * target_std + target_mean

    def rmse(predicted: np.ndarray, t: np.ndarray) -> float:
        return float(np.sqrt(np.mean((predicted - targets[t + 1]) ** 2)))

    model = ReturnForecaster(len(TICKERS), hidden=args.hidden)
    optimizer = tg.optim.Adam(model.parameters(), lr=args.lr)
    steps = slice(None) if args.mode == "many-to-many" else slice(-1, None)  # which steps the loss reads
    trained_on = "every step" if args.mode == "many-to-many" else "last step"
    history = {f"train RMSE ({trained_on})": [], "test RMSE (last step)": []}
    for _ in progress(range(args.epochs), desc="epochs"):
        total = 0.0
        for batch in minibatches(len(train), args.batch_size, rng):
            loss = F.mse_loss(model(window_of(train[batch]))[:, steps], targets_of(train[batch])[:, steps])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        history[f"train RMSE ({trained_on})"].append(float(np.sqrt(total / len(train)) * target_std))  # percent
        history["test RMSE (last step)"].append(rmse(forecast(test), test))

    predicted = forecast(test)
    actual = targets[test + 1]
    baselines = {
        "persistence (tomorrow = today)": targets[test],
        "historical mean (of 2000-2009)": np.broadcast_to(target_mean, actual.shape),
        f"mean of the {args.window}-day window": np.stack(
            [targets[t - args.window + 1 : t + 1].mean(axis=0) for t in test]
        ),
    }
    scores = {"LSTM": rmse(predicted, test)} | {name: rmse(guess, test) for name, guess in baselines.items()}
    what = "return" if args.target == "return" else "size of the move |return|"
    print(f"stock_forecast ({args.mode}, {what}): RMSE in percent on {len(test)} days from {TEST_FROM}:")
    for name, value in scores.items():
        print(f"  {name:32s} {value:.3f}")
    mean_mse = np.mean((baselines["historical mean (of 2000-2009)"] - actual) ** 2)
    r2 = 1 - np.mean((predicted - actual) ** 2) / mean_mse  # > 0: better than the historical mean
    print(f"  out-of-sample R^2 against the historical mean: {r2:+.4f}")
    metrics = {"test_rmse": scores["LSTM"], "persistence_rmse": scores["persistence (tomorrow = today)"]}
    metrics |= {"mean_rmse": scores["historical mean (of 2000-2009)"], "r2_vs_mean": float(r2)}
    if args.target == "return":
        up = actual > 0
        always_up = float(((seen.mean(axis=0) > 0) == up).mean())  # the training period's more common sign
        direction = float(((predicted > target_mean) == up).mean())  # above the usual day, or below it
        same_as_today = float(((targets[test] > 0) == up).mean())
        print(
            f"  direction right: LSTM {direction:.1%}, 'up as usual' {always_up:.1%}, persistence {same_as_today:.1%}"
        )
        metrics |= {"direction_accuracy": direction, "always_up_accuracy": always_up}
    print("  (no trading tips given: see the module docstring for what this can and cannot show)")

    checkpoint = save_checkpoint(
        output(args, f"stock_forecast_{args.target}.npz"),
        model,
        {"window": args.window, "hidden": args.hidden, "input_mean": mean, "input_std": std},
        {"tickers": list(TICKERS)},
    )

    fig, (ax_loss, ax_days, ax_scatter) = figure(columns=3, width=4.8, height=4.2)
    plot_curves(ax_loss, history, "epoch", "RMSE (percent)", f"{args.mode}, next-day {args.target}")
    for (name, value), style in zip(list(scores.items())[1:], ("--", ":", "-.")):
        ax_loss.axhline(value, color="grey", ls=style, label=f"{name.split(' (')[0]}, test")
    ax_loss.legend(fontsize=8)
    shown = slice(0, 120)  # the first 120 test days, first stock
    day = np.arange(len(test))[shown]
    ax_days.plot(day, actual[shown, 0], color="black", lw=0.8, label="actual")
    ax_days.plot(day, predicted[shown, 0], color="C3", lw=1.4, label="LSTM")
    ax_days.axhline(target_mean[0], color="grey", ls=":", label="historical mean")
    ax_days.set(xlabel=f"trading day from {TEST_FROM}", ylabel=f"{TICKERS[0]} next-day {args.target} (%)")
    ax_days.set_title(f"{TICKERS[0]}: predicted against actual")
    ax_days.legend(fontsize=8)
    for k, ticker in enumerate(TICKERS):
        ax_scatter.scatter(actual[:, k], predicted[:, k], s=4, alpha=0.4, label=ticker)
    low, high = np.percentile(actual, [1, 99])
    ax_scatter.plot([low, high], [low, high], color="grey", lw=0.8, label="perfect")
    ax_scatter.set(
        xlim=(low, high), ylim=(low, high), xlabel="actual (%)", ylabel="predicted (%)", title=f"R² vs mean {r2:+.3f}"
    )
    ax_scatter.legend(fontsize=8)
    plot = save(fig, output(args, f"stock_forecast_{args.target}.png"))
    return {"train_loss": history[f"train RMSE ({trained_on})"], **metrics, "checkpoint": checkpoint, "plot": plot}


if __name__ == "__main__":
    main()
