"""Regenerate docs/api.md from the docstrings: ``python docs/gen_api.py``."""

import inspect

import fastcal


def main():
    groups = {
     "Metrics (functional)": ["calibration_error","ece","mce","rmsce","reliability_curve","ReliabilityCurve","brier_score","nll","auroc","calibration_report","CalibrationReport"],
     "Model comparison": ["compare","Comparison","CompareAccumulator"],
     "Uncertainty": ["auroc_ci","auroc_variance","delong_test","risk_coverage_curve","aurc","prediction_rejection_ratio"],
     "Streaming and drift": ["CalibrationAccumulator","AUROCAccumulator","WindowedAccumulator","GaugeRecorder"],
     "LLM helpers": ["multiple_choice_report","parse_confidence","lm_eval_report","openai_confidence","openai_report","helm_report","read_helm"],
     "Calibrators": ["TemperatureScaling","IsotonicRegression","isotonic_regression","PlattScaling","HistogramBinning"],
     "Estimators": ["smooth_ece","brier_decomposition","corp_decomposition"],
     "Runtime and errors": ["warmup","InputError","UndefinedMetricWarning","NotFittedError","SeparableWarning"],
    }
    extra = [n for n in fastcal.__all__ if not any(n in g for g in groups.values())]
    if extra:
        groups["Calibrators"] += [n for n in extra if n[0].isupper() or "calib" in n.lower()]
        rest=[n for n in extra if n not in groups["Calibrators"]]
        if rest: groups["Other"]=rest
    L=["# API reference","","Every public name of `fastcal` (`fastcal.__all__`), with its signature and the first line of","its docstring; `help(fastcal.<name>)` has the rest. Submodules: `fastcal.dask` (Dask","collections), `fastcal.plot` (matplotlib figures), `fastcal.cli` (the `fastcal` command).",""]
    for g, names in groups.items():
        L += [f"## {g}", ""]
        for n in names:
            obj = getattr(fastcal, n)
            try:
                sig = str(inspect.signature(obj))
            except (TypeError, ValueError):
                sig = ""
            if inspect.isclass(obj) and issubclass(obj, Warning | Exception):
                sig = ""
            doc = (inspect.getdoc(obj) or "").strip().split("\n\n")[0].replace("\n", " ")
            L += [f"- **`{n}{sig}`**: {doc}"]
        L.append("")
    for mod in ("dask", "plot"):
        m = __import__(f"fastcal.{mod}", fromlist=["x"])
        L += [f"## fastcal.{mod}", ""]
        for n in getattr(m, "__all__", [x for x in dir(m) if not x.startswith("_") and callable(getattr(m, x)) and getattr(getattr(m,x),"__module__","")==m.__name__]):
            obj = getattr(m, n)
            try: sig = str(inspect.signature(obj))
            except (TypeError, ValueError): sig = ""
            doc = (inspect.getdoc(obj) or "").strip().split("\n\n")[0].replace("\n", " ")
            L += [f"- **`{n}{sig}`**: {doc}"]
        L.append("")
    open("docs/api.md","w").write("\n".join(L))


if __name__ == "__main__":
    main()
