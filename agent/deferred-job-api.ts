import { JobInputError, type JobApi, type JobProgress, type PhaseEvent } from '../src/exporters/job-api.js';

/**
 * DeferredJobApi answers the job from its first instant, while `run` is still probing the collectors beside
 * it: calls are checked as far as they can be (a phase ended that was never started is refused at once), kept,
 * and replayed in order to the tracker's job API once it exists; from then on it forwards directly. Phase
 * edges carry their own times, so a replayed edge lands where the job put it.
 */
export class DeferredJobApi implements JobApi {
  private target: JobApi | undefined;
  private readonly queued: ({ phase: PhaseEvent } | { progress: JobProgress })[] = [];
  private readonly open = new Map<string, string>();

  phase(event: PhaseEvent): void {
    if (this.target) return this.target.phase(event);
    if (event.event === 'start') {
      const name = this.open.get(event.id);
      if (name === event.name) return; // a retried start: no conflict, as the tracker answers it
      if (name !== undefined) throw new JobInputError(`phase id '${event.id}' is already used in this run: give every phase window its own id`, 409);
      this.open.set(event.id, event.name);
    } else if (!this.open.delete(event.id)) {
      throw new JobInputError(`no open phase with id '${event.id}'`, 404);
    }
    this.queued.push({ phase: event });
  }

  progress(update: JobProgress): void {
    if (this.target) return this.target.progress(update);
    this.queued.push({ progress: update });
  }

  /** attach replays the kept calls to the tracker's job API; one it refuses now is said on stderr and skipped. */
  attach(target: JobApi): void {
    for (const call of this.queued.splice(0)) {
      try {
        if ('phase' in call) target.phase(call.phase);
        else target.progress(call.progress);
      } catch (err) {
        process.stderr.write(`wattprint: a job call made before tracking began was refused: ${(err as Error).message}\n`);
      }
    }
    this.target = target;
  }
}
