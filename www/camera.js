// The camera (getUserMedia, where the browser has it): a live preview and single frames for
// the crop box. The stream stays on this page.

export const cameraAvailable = () => !!navigator.mediaDevices?.getUserMedia;

/** Opens the camera into `video`; returns the stream (stop it with `closeCamera`). */
export async function openCamera(video) {
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: 'user' },
    audio: false,
  });
  video.srcObject = stream;
  await video.play();
  return stream;
}

/** The current frame as a canvas of the video's size. */
export function grabFrame(video) {
  const c = document.createElement('canvas');
  c.width = video.videoWidth;
  c.height = video.videoHeight;
  c.getContext('2d').drawImage(video, 0, 0);
  return c;
}

export function closeCamera(video, stream) {
  for (const t of stream?.getTracks() ?? []) t.stop();
  video.srcObject = null;
}
