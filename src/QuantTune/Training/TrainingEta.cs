namespace QuantTune.Training;

/// <summary>
/// The time a run still needs: the mean duration of its training steps times the steps left,
/// plus the mean duration of an evaluation times the evaluations left. The first step of a run
/// (allocations, optimizer state) and the evaluations are timed apart, so neither inflates the
/// other; the first step counts only while it is the only one timed.
/// </summary>
public sealed class TrainingEta(int firstStep, int totalSteps, int evalEvery)
{
    double _stepSeconds, _firstStepSeconds, _evalSeconds;
    int _steps, _evals;
    bool _sawFirst;

    public void AddStep(int step, double seconds)
    {
        if (step == firstStep && !_sawFirst) { _sawFirst = true; _firstStepSeconds = seconds; return; }
        _stepSeconds += seconds;
        _steps++;
    }

    public void AddEvaluation(double seconds)
    {
        _evalSeconds += seconds;
        _evals++;
    }

    /// <summary>The mean time of a training step: the first step of the run counts only while it is the only one; NaN before any.</summary>
    public double SecondsPerStep => _steps > 0 ? _stepSeconds / _steps : _sawFirst ? _firstStepSeconds : double.NaN;

    /// <summary>Time left after <paramref name="done"/> steps, or null before any step was timed.</summary>
    public TimeSpan? Remaining(int done)
    {
        double perStep = SecondsPerStep;
        if (double.IsNaN(perStep)) return null;
        int stepsLeft = Math.Max(0, totalSteps - done);
        int evalsLeft = evalEvery > 0 ? EvaluationsAfter(done) : 0;
        double perEval = _evals > 0 ? _evalSeconds / _evals : 0;
        return TimeSpan.FromSeconds(perStep * stepsLeft + perEval * evalsLeft);
    }

    int EvaluationsAfter(int done)
    {
        int count = 0;
        for (int s = done + 1; s <= totalSteps; s++)
            if (s % evalEvery == 0 || s == totalSteps) count++;
        return count;
    }
}
