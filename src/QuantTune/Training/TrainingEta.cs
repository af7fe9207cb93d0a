namespace QuantTune.Training;

/// <summary>
/// The time a run still needs: the mean duration of its training steps times the steps left,
/// plus the mean duration of an evaluation times the evaluations left. The first step of a run
/// (allocations, optimizer state) and the evaluations are timed apart, so neither inflates the
/// other; the first step, and the step on which memory is measured, count only while no other
/// step has been timed.
/// </summary>
public sealed class TrainingEta(int firstStep, int totalSteps, int evalEvery)
{
    double _stepSeconds, _asideSeconds, _evalSeconds;
    int _steps, _aside, _evals;
    bool _sawFirst;

    /// <param name="measured">The step carried the memory measurement, which slows it.</param>
    public void AddStep(int step, double seconds, bool measured = false)
    {
        bool warmUp = step == firstStep && !_sawFirst;
        if (warmUp) _sawFirst = true;
        if (warmUp || measured) { _asideSeconds += seconds; _aside++; return; }
        _stepSeconds += seconds;
        _steps++;
    }

    public void AddEvaluation(double seconds)
    {
        _evalSeconds += seconds;
        _evals++;
    }

    /// <summary>The mean time of a training step: the first and the measured step count only while no other step was timed; NaN before any.</summary>
    public double SecondsPerStep => _steps > 0 ? _stepSeconds / _steps : _aside > 0 ? _asideSeconds / _aside : double.NaN;

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
