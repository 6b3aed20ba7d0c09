/**
 * What `build` makes on top of something just opened; when `build` throws, `close` (closing that thing)
 * runs first and the error is rethrown, so a whole that could not be made leaves nothing open behind it.
 */
export async function closeOnFailure<T>(close: () => Promise<void>, build: () => Promise<T> | T): Promise<T> {
  try {
    return await build()
  } catch (error) {
    await close()
    throw error
  }
}
